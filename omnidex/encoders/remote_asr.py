"""Speech recognition on a server: OpenAI's ``POST /v1/audio/transcriptions``, as vLLM serves it.

vLLM serving Whisper (``vllm serve openai/whisper-large-v3-turbo``) hears at most
30 s per request, so the samples go out as WAV windows of 30 s that overlap by
2 s, several at once. Each window asks for ``verbose_json``, whose segments
carry their own start and end; they come back shifted to the recording's time,
and a segment in an overlap is kept from the window where it starts nearer the
middle, so it is heard once. The exchange is in tests/transcripts/vllm-transcription.json.
"""

from __future__ import annotations

import io
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np

from omnidex.encoders.asr import SAMPLE_RATE, SpeechSegment
from omnidex.errors import SpeechServerError, reason

WINDOW_SECONDS = 30.0
OVERLAP_SECONDS = 2.0
RETRY_STATUSES = {429, 500, 502, 503, 504}


class RemoteTranscriber:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        concurrency: int = 4,
        timeout: float = 60.0,
        retries: int = 1,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/audio/transcriptions"
        self.name = f"{model} (server)"
        self.version = model
        self.model = model
        self.timeout = timeout
        self.retries = retries
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="asr")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=concurrency)
        timeouts = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        self._http = httpx.Client(headers=headers, timeout=timeouts, limits=limits, transport=transport)

    def transcribe(
        self, audio: np.ndarray, *, offset: float = 0.0, vocabulary: str | None = None
    ) -> list[SpeechSegment]:
        """Speech in ``audio`` (float32, 16 kHz, mono), the server's segments with their times,
        shifted by ``offset``; ``vocabulary`` goes as Whisper's prompt. Raises SpeechServerError."""
        if audio.size < SAMPLE_RATE // 10:
            return []
        starts = window_starts(audio.size / SAMPLE_RATE)
        pieces = [audio[round(s * SAMPLE_RATE) : round((s + WINDOW_SECONDS) * SAMPLE_RATE)] for s in starts]
        answers = list(self._pool.map(lambda piece: self._window(piece, vocabulary), pieces))
        segments: list[SpeechSegment] = []
        for index, (start, answer) in enumerate(zip(starts, answers, strict=True)):
            low = start + OVERLAP_SECONDS / 2 if index else float("-inf")
            high = starts[index + 1] + OVERLAP_SECONDS / 2 if index + 1 < len(starts) else float("inf")
            language = answer.get("language") or None
            for found in answer.get("segments") or ():
                text = str(found.get("text", "")).strip()
                begin = start + float(found["start"])
                if text and low <= begin < high:
                    end = start + float(found["end"])
                    segments.append(SpeechSegment(begin + offset, end + offset, text, language))
        return segments

    def _window(self, samples: np.ndarray, vocabulary: str | None) -> dict[str, Any]:
        form = {
            "model": self.model,
            "response_format": "verbose_json",
            "timestamp_granularities[]": "segment",
            "temperature": "0",
        }
        if vocabulary:
            form["prompt"] = vocabulary
        files = {"file": ("window.wav", wav_bytes(samples), "audio/wav")}
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(0.5 * attempt)
            try:
                response = self._http.post(self.url, data=form, files=files)
            except httpx.TimeoutException:
                problem = f"the speech recognition server took longer than {self.timeout:g} s"
                continue
            except httpx.HTTPError as exc:
                problem = f"cannot reach the speech recognition server at {self.url}: {reason(exc)}"
                continue
            if response.status_code == 200:
                return _json(response)
            status = response.status_code
            problem = f"the speech recognition server answered HTTP {status}: {_detail(response)}"
            if response.status_code not in RETRY_STATUSES:
                break
        raise SpeechServerError(problem)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


def window_starts(seconds: float) -> list[float]:
    """Where each window begins: every 28 s, the last one reaching the end."""
    step = WINDOW_SECONDS - OVERLAP_SECONDS
    starts = [0.0]
    while starts[-1] + WINDOW_SECONDS < seconds:
        starts.append(starts[-1] + step)
    return starts


def wav_bytes(samples: np.ndarray) -> bytes:
    """16-bit mono WAV at 16 kHz of float32 samples."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(pcm)
    return buffer.getvalue()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise SpeechServerError("the speech recognition server sent something that is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("segments"), list):
        raise SpeechServerError(
            "the speech recognition server sent no segments: it must answer verbose_json with segment times"
        )
    return body


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or "(empty body)"
    inner = body.get("error", body) if isinstance(body, dict) else body
    return str(inner.get("message", inner) if isinstance(inner, dict) else inner)[:200]
