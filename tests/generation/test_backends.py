"""Every HTTP backend against protocol-faithful fake servers: text, speech, errors, timeouts, drops."""

from __future__ import annotations

import asyncio
import io
import os
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from omnidex.config import Settings
from omnidex.errors import GeneratorError, GeneratorTimeout
from omnidex.generation import make_generator
from omnidex.generation.base import (
    AudioDelta,
    Delta,
    GenerationRequest,
    Generator,
    Message,
    TextDelta,
    TextPart,
    Usage,
)
from omnidex.generation.wire import wav_file
from tests.omni_fakes import FakeOmni, Script

PROTOCOLS_ENV = "OMNIDEX_PROTOCOL_TRANSCRIPTS"
FLAVORS = ["vllm-omni", "dashscope", "openai"]
SPEAKING = ["vllm-omni", "dashscope"]
Start = Callable[[str], FakeOmni]


def question(speech: bool = False, voice: str | None = None) -> GenerationRequest:
    messages = [Message("system", [TextPart("Cite [n].")]), Message("user", [TextPart("Who?")])]
    return GenerationRequest(messages, text=not speech, speech=speech, voice=voice)


def backend(fake: FakeOmni, **overrides: Any) -> Generator:
    options: dict[str, Any] = {
        "generator": fake.flavor,
        "generator_url": fake.url,
        "generator_read_timeout": 5.0,
        "generator_retries": 1,
        **overrides,
    }
    generator = make_generator(Settings(**options))
    assert generator is not None
    return generator


def run(generator: Generator, request: GenerationRequest) -> list[Delta]:
    async def collect() -> list[Delta]:
        try:
            return [delta async for delta in generator.stream(request)]
        finally:
            await generator.aclose()

    return asyncio.run(collect())


def text_of(deltas: list[Delta]) -> str:
    return "".join(d.text for d in deltas if isinstance(d, TextDelta))


def speech_of(deltas: list[Delta]) -> bytes:
    """The spoken answer as one WAV file, as omnidex writes it."""
    audio = [d for d in deltas if isinstance(d, AudioDelta)]
    assert {d.rate for d in audio} == {24_000}
    return wav_file(b"".join(d.pcm for d in audio), 24_000)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_text_streams_in_order(omni: Start, flavor: str) -> None:
    fake = omni(flavor)
    deltas = run(backend(fake), question())
    assert text_of(deltas) == Script().text
    assert next(d for d in deltas if isinstance(d, Usage)).completion_tokens > 0
    [sent] = fake.requests
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert not any(isinstance(d, AudioDelta) for d in deltas)


@pytest.mark.parametrize("flavor", SPEAKING)
def test_speech_decodes_to_a_valid_24khz_wav(omni: Start, flavor: str) -> None:
    fake = omni(flavor)
    deltas = run(backend(fake), question(speech=True))
    with wave.open(io.BytesIO(speech_of(deltas))) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (24_000, 1, 2)
        assert reader.getnframes() == 2 * 2400  # two 0.1 s chunks, each decoded on its own
    assert text_of(deltas) == ""  # the speech request wants no text
    [sent] = fake.requests
    if flavor == "vllm-omni":
        assert sent["modalities"] == ["audio"]
        assert sent["speaker"] == "ethan"
    else:
        assert sent["modalities"] == ["text", "audio"]
        assert sent["audio"] == {"voice": "Cherry", "format": "wav"}
        assert all(m["role"] != "system" for m in sent["messages"])


def test_vllm_omni_relays_only_the_modalities_asked_for(omni: Start) -> None:
    fake = omni("vllm-omni")
    fake.script = Script(every_modality=True)  # a server that sends the text of a speech request too
    spoken = run(backend(fake), question(speech=True))
    assert text_of(spoken) == ""
    assert speech_of(spoken)
    written = run(backend(fake), question())
    assert text_of(written) == Script().text
    assert not any(isinstance(d, AudioDelta) for d in written)


def test_vllm_omni_refuses_an_unknown_speaker_with_its_reason(omni: Start) -> None:
    fake = omni("vllm-omni")
    with pytest.raises(GeneratorError, match="HTTP 400: Invalid speaker 'bob'"):
        run(backend(fake), question(speech=True, voice="Bob"))
    assert len(fake.requests) == 1  # a 400 is not retried


@pytest.mark.parametrize("flavor", FLAVORS)
def test_error_bodies_become_clear_errors(omni: Start, flavor: str) -> None:
    fake = omni(flavor)
    fake.script = Script(status=401)
    with pytest.raises(GeneratorError, match="HTTP 401: the request was refused"):
        run(backend(fake), question())


@pytest.mark.parametrize("flavor", FLAVORS)
def test_overload_is_retried_before_the_first_byte(omni: Start, flavor: str) -> None:
    fake = omni(flavor)
    fake.script = Script(fail_first=1)
    assert text_of(run(backend(fake), question())) == Script().text
    assert len(fake.requests) == 2


def test_retries_are_bounded(omni: Start) -> None:
    fake = omni("vllm-omni")
    fake.script = Script(fail_first=10)
    with pytest.raises(GeneratorError, match="HTTP 503: the engine is overloaded"):
        run(backend(fake, generator_retries=2), question())
    assert len(fake.requests) == 3


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_silent_server_times_out(omni: Start, flavor: str) -> None:
    fake = omni(flavor)
    fake.script = Script(first_delay=3.0)
    with pytest.raises(GeneratorTimeout, match=r"sent nothing for 0\.5 s"):
        run(backend(fake, generator_read_timeout=0.5), question())


def test_the_whole_answer_has_a_deadline(omni: Start) -> None:
    fake = omni("openai")
    fake.script = Script(chunk_delay=0.2)
    with pytest.raises(GeneratorTimeout, match=r"longer than 0\.5 s"):
        run(backend(fake, generator_timeout=0.5), question())


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_dropped_connection_mid_stream_fails_clearly(omni: Start, flavor: str) -> None:
    fake = omni(flavor)
    fake.script = Script(drop_after=3)
    with pytest.raises(GeneratorError, match="dropped the connection mid-answer"):
        run(backend(fake), question())
    assert len(fake.requests) == 1  # text already flowed: no retry


def test_an_error_event_mid_stream_fails_with_its_message(omni: Start) -> None:
    fake = omni("vllm-omni")
    fake.script = Script(error_after=2)
    with pytest.raises(GeneratorError, match="mid-answer: the engine died"):
        run(backend(fake), question())


def test_garbage_fails_with_what_was_sent(omni: Start) -> None:
    fake = omni("dashscope")
    fake.script = Script(garbage_after=1)
    with pytest.raises(GeneratorError, match="not JSON: '<html>Bad Gateway"):
        run(backend(fake), question())


def test_a_server_that_is_not_there(omni: Start) -> None:
    generator = make_generator(
        Settings(generator="vllm-omni", generator_url="http://127.0.0.1:9/v1", generator_retries=0)
    )
    assert generator is not None
    with pytest.raises(GeneratorError, match="cannot reach the generator"):
        run(generator, question())


@pytest.fixture
def transcripts() -> Path:
    folder = os.environ.get(PROTOCOLS_ENV)
    if not folder or not Path(folder).is_dir():
        pytest.skip(f"{PROTOCOLS_ENV} is not set to the folder of recorded protocol transcripts")
    return Path(folder)


@pytest.mark.parametrize(
    ("flavor", "transcript", "speech"),
    [
        ("vllm-omni", "vllm-omni-stream.sse", True),
        ("dashscope", "dashscope-stream.sse", True),
        ("openai", "openai-text-stream.sse", False),
    ],
)
def test_recorded_transcripts_replay(
    omni: Start, transcripts: Path, flavor: str, transcript: str, speech: bool
) -> None:
    fake = omni(flavor)
    fake.script = Script(replay=transcripts / transcript)
    request = question()
    request.speech = speech
    deltas = run(backend(fake), request)
    assert text_of(deltas) == "Hello! How can I help you today?"
    usage = [d for d in deltas if isinstance(d, Usage)]
    assert usage
    assert usage[-1].prompt_tokens in (19, 28)
    if speech:
        with wave.open(io.BytesIO(speech_of(deltas))) as reader:
            assert reader.getnframes() == 4800
