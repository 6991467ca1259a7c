"""The captioner on each chat backend: the recorded wire formats replayed, and what it sends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from omnidex.config import Settings
from omnidex.generation import make_captioner
from omnidex.generation.captions import Caption, Picture, Sound
from omnidex.generation.wire import wav_file
from tests.generation.test_backends import transcripts  # noqa: F401  (the fixture)
from tests.omni_fakes import FakeOmni, Script

Start = Callable[[str], FakeOmni]
RECORDED = {
    "vllm-omni": "vllm-omni-stream.sse",
    "dashscope": "dashscope-stream.sse",
    "openai": "openai-text-stream.sse",
}


def captioner(fake: FakeOmni, flavor: str, **overrides: object):  # type: ignore[no-untyped-def]
    settings = Settings(captioner=flavor, captioner_url=fake.url, generator_retries=0, **overrides)
    made = make_captioner(settings)
    assert made is not None
    return made


@pytest.mark.parametrize("flavor", sorted(RECORDED))
def test_recorded_streams_become_captions(omni: Start, transcripts: Path, flavor: str) -> None:  # noqa: F811
    fake = omni(flavor)
    fake.script = Script(replay=transcripts / RECORDED[flavor])
    [said] = captioner(fake, flavor).describe([Picture(b"\xff\xd8 a jpeg")])
    assert said.text == "Hello! How can I help you today?"  # the recorded text, speech ignored
    assert said.tokens > 0
    assert said.error is None


@pytest.mark.parametrize("flavor", sorted(RECORDED))
def test_pictures_and_sounds_go_as_media_text_only_and_at_most_n_at_once(omni: Start, flavor: str) -> None:
    fake = omni(flavor)
    fake.script = Script(text="A kite.", first_delay=0.2)
    jobs = [Picture(b"jpeg"), Sound(wav_file(b"\x00\x00" * 2400, 24_000), 0.1), Picture(b"jpeg2")]
    said = captioner(fake, flavor, caption_concurrency=2).describe(jobs)
    assert [s.text for s in said] == ["A kite."] * 3
    kinds = sorted(
        part["type"]
        for request in fake.requests
        for message in request["messages"]
        for part in message["content"]
        if part["type"] != "text"
    )
    assert kinds == ["image_url", "image_url", "input_audio"]
    for request in fake.requests:
        assert "audio" not in (request.get("modalities") or [])
        assert request["max_tokens"] == 160
    arrivals = sorted(fake.arrivals)
    assert arrivals[2] - arrivals[0] >= 0.15  # the third waited for a free slot


def test_a_failure_is_a_caption_with_a_reason_never_an_exception(omni: Start) -> None:
    fake = omni("vllm-omni")
    fake.script = Script(status=503)
    [said] = captioner(fake, "vllm-omni").describe([Picture(b"jpeg")])
    assert said == Caption(None, 0, "the generator answered HTTP 503: the request was refused")
