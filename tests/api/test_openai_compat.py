"""The official `openai` package talks to omnidex's /v1/chat/completions: streaming, audio, citations."""

from __future__ import annotations

import base64
import io
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import APIStatusError, OpenAI

from omnidex.api.app import create_app
from omnidex.runtime import Runtime
from tests.api.test_answer import QUESTION, ready_client
from tests.files import make_pdf
from tests.omni_fakes import FakeOmni, Script, serve, stop


@pytest.fixture
def omnidex_url(
    omni: Callable[[str], FakeOmni], make_runtime: Callable[..., Runtime], tmp_path: Path
) -> Iterator[tuple[str, FakeOmni]]:
    """omnidex on a real socket, answering with a fake vLLM-Omni, over one indexed PDF."""
    fake = omni("vllm-omni")
    fake.script = Script(text="The lion does [1], said the zoo [7].")
    rt = make_runtime(generator="vllm-omni", generator_url=fake.url)
    pdf = make_pdf(tmp_path / "zoo.pdf", [["The lion puts on sunscreen every morning."]])
    with ready_client(rt, pdf):
        pass
    server, thread, url = serve(create_app(runtime=rt, workers=0))
    yield url, fake
    stop(server, thread)


def extra(model: Any, name: str) -> Any:
    """A field the SDK's types do not declare (``delta.audio``, ``citations``)."""
    value = getattr(model, name, None)
    return value if value is not None else (model.model_extra or {}).get(name)


def test_models_lists_omnidex(omnidex_url: tuple[str, FakeOmni]) -> None:
    client = OpenAI(base_url=omnidex_url[0] + "/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == ["omnidex", "omnidex-think", "omnidex-auto"]


def test_streamed_text_with_citations(omnidex_url: tuple[str, FakeOmni]) -> None:
    url, fake = omnidex_url
    client = OpenAI(base_url=url + "/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="omnidex",
        messages=[
            {"role": "user", "content": "Hi, I have a question about the zoo."},
            {"role": "assistant", "content": "Ask away."},
            {"role": "user", "content": QUESTION},
        ],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The lion does [1], said the zoo [7]."
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish[-1].choices[0].finish_reason == "stop"
    [cited] = extra(finish[-1], "citations")
    assert (cited["number"], cited["source"], cited["page"]) == (1, "zoo.pdf", 1)  # [7] matched no source
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert len({c.id for c in chunks}) == 1
    history = [m["role"] for m in fake.requests[0]["messages"]]
    assert history == ["system", "user", "assistant", "user"]


def test_streamed_audio_in_openai_format(omnidex_url: tuple[str, FakeOmni]) -> None:
    client = OpenAI(base_url=omnidex_url[0] + "/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="omnidex",
        messages=[{"role": "user", "content": QUESTION}],
        modalities=["text", "audio"],
        audio={"voice": "ethan", "format": "pcm16"},
        stream=True,
    )
    text, pcm, ids = [], b"", set()
    for chunk in stream:
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            audio = extra(choice.delta, "audio")
            if audio:
                audio = audio if isinstance(audio, dict) else audio.model_dump()
                pcm += base64.b64decode(audio.get("data") or "")
                ids.add(audio.get("id"))
    assert "".join(text) == "The lion does [1], said the zoo [7]."
    assert len(pcm) == 2 * 4800  # two 0.1 s chunks of 24 kHz PCM16, no WAV headers
    assert len(ids - {None}) == 1


def test_non_streamed_answer_with_wav(omnidex_url: tuple[str, FakeOmni]) -> None:
    client = OpenAI(base_url=omnidex_url[0] + "/v1", api_key="unused")
    completion = client.chat.completions.create(
        model="omnidex",
        messages=[{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        modalities=["text", "audio"],
        audio={"voice": "ethan", "format": "wav"},
    )
    message = completion.choices[0].message
    assert message.content == "The lion does [1], said the zoo [7]."
    assert message.audio is not None
    with wave.open(io.BytesIO(base64.b64decode(message.audio.data))) as reader:
        assert (reader.getframerate(), reader.getnframes()) == (24_000, 4800)
    assert [c["number"] for c in extra(completion, "citations")] == [1]


def test_errors_reach_the_client(omnidex_url: tuple[str, FakeOmni]) -> None:
    url, fake = omnidex_url
    client = OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(APIStatusError) as refused:
        client.chat.completions.create(model="omnidex", messages=[{"role": "assistant", "content": "hi"}])
    assert refused.value.status_code == 400
    fake.script = Script(status=500)
    with pytest.raises(APIStatusError) as failed:
        client.chat.completions.create(model="omnidex", messages=[{"role": "user", "content": QUESTION}])
    assert failed.value.status_code == 502
    assert "HTTP 500" in str(failed.value)
