"""Speech recognition on a server (OMNIDEX_ASR=openai), against a fake that replays vLLM's wire format.

The fake answers ``POST /v1/audio/transcriptions`` with the recorded verbose_json
(tests/transcripts/vllm-transcription.json), or with what a test scripts, and
keeps every form it got.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import socket
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnidex.config import Settings
from omnidex.db import documents
from omnidex.encoders.remote_asr import OVERLAP_SECONDS, WINDOW_SECONDS, RemoteTranscriber
from omnidex.errors import SpeechServerError
from omnidex.ingest.intake import add_file
from omnidex.ingest.worker import Worker
from omnidex.runtime import Runtime
from omnidex.types import DocStatus
from tests.files import write_audio
from tests.omni_fakes import serve, stop

TRANSCRIPT = json.loads((Path(__file__).parents[1] / "transcripts" / "vllm-transcription.json").read_text())
RATE = 16_000


@dataclass
class FakeAsr:
    answer: Callable[[float], Any] = lambda seconds: TRANSCRIPT["response"]
    delay: float = 0.0
    forms: list[dict[str, Any]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # each window's length
    in_flight: int = 0
    most_in_flight: int = 0
    url: str = ""

    async def transcriptions(self, request: Request) -> Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            async with request.form() as form:
                upload = form["file"]
                data = await upload.read()  # type: ignore[union-attr]
                self.forms.append({k: v for k, v in form.items() if k != "file"})
            with wave.open(io.BytesIO(data)) as reader:
                assert reader.getframerate() == RATE
                assert reader.getnchannels() == 1
                seconds = reader.getnframes() / RATE
            self.seconds.append(seconds)
            if self.delay:
                await asyncio.sleep(self.delay)
            return JSONResponse(self.answer(seconds))
        finally:
            self.in_flight -= 1


@pytest.fixture
def asr() -> Iterator[FakeAsr]:
    fake = FakeAsr()
    app = Starlette(routes=[Route("/v1/audio/transcriptions", fake.transcriptions, methods=["POST"])])
    server, thread, url = serve(app)
    fake.url = f"{url}/v1"
    yield fake
    stop(server, thread)


def test_the_recorded_segment_times_come_back_exactly(asr: FakeAsr) -> None:
    transcriber = RemoteTranscriber(asr.url, "openai/whisper-large-v3-turbo")
    try:
        segments = transcriber.transcribe(
            np.zeros(int(12.48 * RATE), np.float32), offset=100.0, vocabulary="Brannock"
        )
    finally:
        transcriber.close()
    recorded = TRANSCRIPT["response"]["segments"]
    assert [(s.start, s.end, s.text) for s in segments] == [
        (100.0 + r["start"], 100.0 + r["end"], r["text"].strip()) for r in recorded
    ]
    assert {s.language for s in segments} == {"en"}
    sent = asr.forms[0]
    for name in ("model", "response_format", "timestamp_granularities[]", "temperature"):
        assert sent[name] == TRANSCRIPT["request"][name]
    assert sent["prompt"] == "Brannock"
    assert asr.seconds == [pytest.approx(12.48, abs=1e-3)]


def test_long_audio_goes_in_overlapping_windows_at_once_and_is_heard_once(asr: FakeAsr) -> None:
    # Each window hears a sentence near its start and one in its last 2.5 s, which the next
    # window (starting 28 s later) hears too, near its own start.
    asr.answer = lambda seconds: {
        "language": "en",
        "segments": [
            {"start": 0.5, "end": 2.5, "text": " early"},
            {"start": seconds - 2.5, "end": seconds - 0.5, "text": " late"},
        ],
    }
    asr.delay = 0.2
    transcriber = RemoteTranscriber(asr.url, "whisper", concurrency=3)
    try:
        segments = transcriber.transcribe(np.zeros(70 * RATE, np.float32))
    finally:
        transcriber.close()
    assert len(asr.seconds) == 3
    assert max(asr.seconds) <= WINDOW_SECONDS
    assert asr.most_in_flight >= 2  # sent concurrently
    starts = [s.start for s in segments]
    assert starts == sorted(starts)
    assert all(b - a > OVERLAP_SECONDS / 2 for a, b in itertools.pairwise(starts))  # none twice
    assert starts[0] == 0.5
    assert segments[-1].end == pytest.approx(70 - 0.5)


def test_a_server_that_is_down_or_stalls_fails_fast_with_a_reason(asr: FakeAsr) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = RemoteTranscriber(f"http://127.0.0.1:{closed}/v1", "whisper", timeout=2.0)
    began = time.monotonic()
    with pytest.raises(SpeechServerError, match="cannot reach the speech recognition server"):
        down.transcribe(np.zeros(5 * RATE, np.float32))
    assert time.monotonic() - began < 10
    down.close()

    asr.delay = 5.0
    stalled = RemoteTranscriber(asr.url, "whisper", timeout=1.0, retries=0)
    began = time.monotonic()
    with pytest.raises(SpeechServerError, match="took longer than 1 s"):
        stalled.transcribe(np.zeros(5 * RATE, np.float32))
    assert time.monotonic() - began < 4
    stalled.close()


def _runtime(settings: Settings, url: str, **encoders: Any) -> Runtime:
    update = {"asr": "openai", "asr_url": url, "asr_timeout": 2.0, "visual_search": False}
    return Runtime(settings.model_copy(update=update), **encoders)


def test_a_recording_is_indexed_with_the_servers_times_or_fails_with_its_reason(
    asr: FakeAsr, settings: Settings, text_encoder: Any, sparse_encoder: Any, tmp_path: Path
) -> None:
    tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(int(12.48 * RATE)) / RATE)).astype(np.float32)
    path = write_audio(tmp_path / "museum.mp3", tone)
    rt = _runtime(settings, asr.url, text_encoder=text_encoder, sparse_encoder=sparse_encoder)
    try:
        doc = add_file(rt.db, rt.blobs, path, "default").document
        Worker(rt.db, rt.pipeline).run_once()
        assert documents.get_document(rt.db, "default", doc.id).status == DocStatus.READY
        hit = rt.retriever.search("default", "When can I visit the museum?", top_k=1).hits[0]
    finally:
        rt.close()
    first = TRANSCRIPT["response"]["segments"][0]
    assert hit.text.startswith(first["text"].strip())
    assert hit.item_start == pytest.approx(first["start"], abs=1e-6)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    rt = _runtime(
        settings, f"http://127.0.0.1:{closed}/v1", text_encoder=text_encoder, sparse_encoder=sparse_encoder
    )
    try:
        doc = add_file(rt.db, rt.blobs, write_audio(tmp_path / "again.wav", tone * 0.5), "default").document
        began = time.monotonic()
        Worker(rt.db, rt.pipeline).run_once()
        failed = documents.get_document(rt.db, "default", doc.id)
    finally:
        rt.close()
    assert failed.status == DocStatus.FAILED
    assert "cannot reach the speech recognition server" in (failed.error or "")
    assert time.monotonic() - began < 20
