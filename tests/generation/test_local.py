"""The transformers backend: the tiny random Qwen3-Omni through the real generate() path, on CPU."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import wave
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from omnidex.api.app import create_app
from omnidex.errors import GeneratorError
from omnidex.generation.base import (
    AudioDelta,
    AudioPart,
    Delta,
    GenerationRequest,
    ImagePart,
    Message,
    TextDelta,
    TextPart,
    Usage,
)
from omnidex.generation.local import LocalQwenOmni
from omnidex.generation.wire import wav_file
from omnidex.media.images import jpeg
from omnidex.runtime import Runtime
from tests.files import make_picture, tone
from tests.generation import tiny_omni


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_omni.build(tmp_path_factory.mktemp("tiny-qwen3-omni"))


@pytest.fixture(scope="module")
def local(tiny_qwen: Path) -> LocalQwenOmni:
    return LocalQwenOmni(str(tiny_qwen), talker_max_new_tokens=12)


def run(generator: LocalQwenOmni, request: GenerationRequest) -> list[Delta]:
    async def collect() -> list[Delta]:
        return [delta async for delta in generator.stream(request)]

    return asyncio.run(collect())


def mixed_question() -> list[Message]:
    sound = (tone(1.0) * 32767).astype("<i2").tobytes()
    return [
        Message("system", [TextPart("Cite sources as [n].")]),
        Message(
            "user",
            [
                TextPart("[1] a poster:"),
                ImagePart(jpeg(make_picture("LION"), 128)),
                TextPart("[2] a recording:"),
                AudioPart(wav_file(sound, 16_000), 1.0),
                TextPart("Question: who wears sunscreen?"),
            ],
        ),
    ]


def test_text_from_pictures_and_sound(local: LocalQwenOmni) -> None:
    deltas = run(local, GenerationRequest(mixed_question(), max_tokens=6))
    text = "".join(d.text for d in deltas if isinstance(d, TextDelta))
    assert text  # random weights write random tokens, but they are written and decoded
    [usage] = [d for d in deltas if isinstance(d, Usage)]
    assert usage.completion_tokens == 6
    assert usage.prompt_tokens > 100  # the picture and the sound became placeholder tokens
    assert not any(isinstance(d, AudioDelta) for d in deltas)


def test_speech_is_a_24khz_waveform(local: LocalQwenOmni) -> None:
    request = GenerationRequest(mixed_question(), text=False, speech=True, voice="Chelsie", max_tokens=4)
    deltas = run(local, request)
    audio = [d for d in deltas if isinstance(d, AudioDelta)]
    assert audio
    assert {d.rate for d in audio} == {24_000}
    assert sum(len(d.pcm) for d in audio) > 2 * 2400
    assert not any(isinstance(d, TextDelta) for d in deltas)


def test_an_unknown_voice_is_a_clear_error(local: LocalQwenOmni) -> None:
    request = GenerationRequest(mixed_question(), text=False, speech=True, voice="Bob", max_tokens=2)
    with pytest.raises(GeneratorError, match="Speaker Bob"):
        run(local, request)


def test_answers_through_the_api(
    tiny_qwen: Path, make_runtime: Callable[..., Runtime], tmp_path: Path
) -> None:
    rt = make_runtime(
        generator="transformers",
        generator_model=str(tiny_qwen),
        generator_max_tokens=5,
        generator_max_speech_tokens=12,
    )
    assert isinstance(rt.generator, LocalQwenOmni)
    with TestClient(create_app(runtime=rt, workers=0)) as client:
        response = client.post("/v1/answer", json={"query": "lions", "stream": True, "speak": True})
        events = [
            (block.split("\n")[0][7:], json.loads(block.split("data: ", 1)[1]))
            for block in response.text.strip().split("\n\n")
        ]
        body = client.post("/v1/answer", json={"query": "lions", "speak": True}).json()
    names = [name for name, _ in events]
    assert names[0] == "retrieval"
    assert "text" in names
    assert "audio" in names
    assert names[-1] == "done"
    assert events[-1][1]["usage"]["completion_tokens"] == 5
    with wave.open(io.BytesIO(base64.b64decode(body["audio"]))) as reader:
        assert reader.getframerate() == 24_000
        assert reader.getnframes() > 0
