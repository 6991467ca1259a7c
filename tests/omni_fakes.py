"""Protocol-faithful fakes of the Qwen3-Omni servers, served over real HTTP on localhost.

Each fake builds its chunks in the exact shapes of the wire formats it
stands for — vLLM-Omni (``modality`` per chunk, a WAV file per audio chunk in
``delta.content``), DashScope (PCM16 in ``delta.audio.data``, key order, string
error codes, stream-only), and OpenAI (text only) — and enforces their rules
(known speakers, one medium per DashScope message). ``replay`` serves a
recorded transcript byte for byte instead.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import socket
import struct
import threading
import time
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

SPEAKERS = ("aiden", "chelsie", "ethan")
# What each flavor's /v1/models lists: the model the backend asks for by default.
SERVED = {
    "vllm-omni": "Qwen/Qwen3-Omni-30B-A3B-Instruct",
    "dashscope": "qwen3-omni-flash",
    "openai": "Qwen/Qwen3-Omni-30B-A3B-Instruct",
}
RATE = 24_000
CREATED = 1767225600


def tone_pcm(seconds: float = 0.1, hz: float = 440.0) -> bytes:
    """A 440 Hz tone as 16-bit mono PCM at 24 kHz, like the transcripts' audio chunks."""
    count = round(seconds * RATE)
    samples = (round(0.3 * 32767 * math.sin(2 * math.pi * hz * i / RATE)) for i in range(count))
    return struct.pack(f"<{count}h", *samples)


def wav_bytes(pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(pcm)
    return buffer.getvalue()


@dataclass
class Script:
    """What the fake does with the next requests."""

    text: str = "Lions put on sunscreen [1]. The talk says so too [3]."
    audio_chunks: int = 2
    status: int = 200  # answer every request with this HTTP status and error body
    fail_first: int = 0  # this many requests get a 503 before the script runs
    first_delay: float = 0.0  # seconds before the first chunk
    chunk_delay: float = 0.0  # seconds between chunks
    drop_after: int | None = None  # cut the connection after this many chunks
    error_after: int | None = None  # send an error event after this many chunks
    garbage_after: int | None = None  # send a line that is not JSON after this many chunks
    replay: Path | None = None  # serve this transcript verbatim
    thinking: Path | None = None  # serve this transcript to requests that ask to think (DashScope)
    stamp: bool = False  # every text delta is "<perf_counter() at its send>;" (benchmarks)
    every_modality: bool = False  # send text and audio whatever the request's modalities


@dataclass
class FakeOmni:
    flavor: str  # vllm-omni | dashscope | openai
    script: Script = field(default_factory=Script)
    requests: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # perf_counter() per request
    finished: int = 0  # streams sent to the end
    abandoned: int = 0  # streams the client walked away from
    url: str = ""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models),
            ]
        )

    async def _models(self, _: Request) -> Response:
        # vllm-omni-models.json's shape; every flavor lists what it serves alike.
        model = {"id": SERVED[self.flavor], "object": "model", "created": 1767225600, "owned_by": "vllm"}
        return JSONResponse({"object": "list", "data": [model]})

    async def _chat(self, request: Request) -> Response:
        self.arrivals.append(time.perf_counter())
        body = await request.json()
        self.requests.append(body)
        script = self.script
        if len(self.requests) <= script.fail_first:
            return self._error(503, "the engine is overloaded, try again")
        if script.status != 200:
            return self._error(script.status, "the request was refused")
        problem = self._check(body)
        if problem:
            return self._error(400, problem)
        if script.thinking is not None and body.get("enable_thinking"):
            return Response(script.thinking.read_bytes(), media_type="text/event-stream")
        if script.replay is not None:
            return Response(script.replay.read_bytes(), media_type="text/event-stream")
        return StreamingResponse(self._stream(body), media_type="text/event-stream")

    def _check(self, body: dict[str, Any]) -> str | None:
        if self.flavor == "dashscope":
            if body.get("stream") is not True:
                return (
                    "<400> InternalError.Algo.InvalidParameter: This model only support stream mode, "
                    "please enable the stream parameter to access the model."
                )
            if body.get("enable_thinking") and "audio" in (body.get("modalities") or []):
                return (
                    "<400> InternalError.Algo.InvalidParameter: thinking mode does not support audio output"
                )
            for message in body["messages"]:
                kinds = {p["type"] for p in _parts(message) if p["type"] != "text"}
                if len(kinds) > 1:
                    return "<400> InternalError.Algo.InvalidParameter: one non-text modality per message"
        if self.flavor == "vllm-omni":
            modalities = body.get("modalities") or ["text", "audio"]
            if not set(modalities) <= {"text", "audio"}:
                return f"Unsupported output modalities {modalities} for this model."
            speaker = body.get("speaker")
            if speaker is not None and speaker.lower() not in SPEAKERS:
                return f"Invalid speaker '{speaker}'. Supported: {', '.join(SPEAKERS)}"
        return None

    def _error(self, status: int, message: str) -> JSONResponse:
        if self.flavor == "dashscope":
            request_id = str(uuid.uuid4())
            code = "invalid_parameter_error" if status == 400 else "InternalError"
            error = {"code": code, "param": None, "message": message, "type": "invalid_request_error"}
            body: dict[str, Any] = {"error": error, "id": f"chatcmpl-{request_id}", "request_id": request_id}
        elif self.flavor == "vllm-omni":
            kind = "BadRequestError" if status == 400 else "InternalServerError"
            body = {"error": {"message": message, "type": kind, "param": None, "code": status}}
        else:
            body = {
                "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
            }
        return JSONResponse(body, status_code=status)

    async def _stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        script = self.script
        modalities = body.get("modalities") or (["text", "audio"] if self.flavor == "vllm-omni" else ["text"])
        if script.every_modality:
            modalities = ["text", "audio"]
        chunks = list(self._chunks(modalities, body))
        sent = 0
        try:
            await asyncio.sleep(script.first_delay)
            for chunk in chunks:
                if sent == script.drop_after:
                    raise ConnectionAbortedError("the fake drops the connection")
                if sent == script.error_after:
                    error = {
                        "message": "the engine died",
                        "type": "InternalServerError",
                        "param": None,
                        "code": 500,
                    }
                    yield f"data: {json.dumps({'error': error})}\n\ndata: [DONE]\n\n".encode()
                    return
                if sent == script.garbage_after:
                    yield b"data: <html>Bad Gateway</html>\n\n"
                    return
                line = json.dumps(chunk, separators=(",", ":"))
                if script.stamp:
                    line = line.replace("@stamp@", repr(time.perf_counter()))
                yield f"data: {line}\n\n".encode()
                sent += 1
                if script.chunk_delay:
                    await asyncio.sleep(script.chunk_delay)
            yield b"data: [DONE]\n\n"
            self.finished += 1
        except (asyncio.CancelledError, GeneratorExit):
            self.abandoned += 1
            raise

    def _chunks(self, modalities: list[str], body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        pieces = self._pieces()
        if self.flavor == "vllm-omni":
            yield from _vllm_chunks(pieces, modalities, self.script.audio_chunks)
        elif self.flavor == "dashscope":
            yield from _dashscope_chunks(pieces, "audio" in modalities, self.script.audio_chunks)
        else:
            yield from _openai_chunks(pieces)

    def _pieces(self) -> list[str]:
        if self.script.stamp:
            return ["@stamp@;"] * 20
        words = self.script.text.split(" ")
        return [words[0]] + [" " + w for w in words[1:]]


def _parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def _vllm_chunks(pieces: list[str], modalities: list[str], audio_chunks: int) -> Iterator[dict[str, Any]]:
    head = {"id": "chatcmpl-9814ea0f38ec847a", "object": "chat.completion.chunk", "created": CREATED,
            "model": "Qwen/Qwen3-Omni-30B-A3B-Instruct"}  # fmt: skip
    speaks = "audio" in modalities
    if "text" in modalities:
        role = {
            "index": 0,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
        yield {**head, "choices": [role], "prompt_token_ids": None, "prompt_text": None, "modality": "text"}
        for piece in pieces:
            delta = {"index": 0, "delta": {"content": piece}, "logprobs": None, "finish_reason": None,
                     "token_ids": None}  # fmt: skip
            yield {**head, "choices": [delta], "modality": "text", "metrics": {}}
        end = {"index": 0, "delta": {"content": ""}, "logprobs": None,
               "finish_reason": None if speaks else "stop", "stop_reason": None, "token_ids": None}  # fmt: skip
        yield {**head, "choices": [end], "modality": "text", "metrics": {}}
    if speaks:
        for index in range(audio_chunks):
            data = base64.b64encode(wav_bytes(tone_pcm())).decode()
            finish = "stop" if index == audio_chunks - 1 else None
            choice = {"index": 0, "delta": {"role": "assistant", "content": data}, "logprobs": None,
                      "finish_reason": finish}  # fmt: skip
            usage = {"prompt_tokens": 28, "total_tokens": 28, "completion_tokens": 0}
            yield {**head, "choices": [choice], "usage": usage, "modality": "audio"}
    usage = {"prompt_tokens": 28, "total_tokens": 28 + len(pieces), "completion_tokens": len(pieces)}
    yield {**head, "choices": [], "usage": usage}


def _dashscope_chunks(pieces: list[str], speaks: bool, audio_chunks: int) -> Iterator[dict[str, Any]]:
    tail = {"object": "chat.completion.chunk", "usage": None, "created": CREATED, "system_fingerprint": None,
            "model": "qwen3-omni-flash", "id": "chatcmpl-3e1f6a2c-7b9d-9c41-a5e2-0d8b6f4c1a37"}  # fmt: skip
    role = {
        "delta": {"content": "", "role": "assistant"},
        "index": 0,
        "logprobs": None,
        "finish_reason": None,
    }
    yield {"choices": [role], **tail}
    for piece in pieces:
        delta = {"finish_reason": None, "logprobs": None, "delta": {"content": piece}, "index": 0}
        yield {"choices": [delta], **tail}
    for _ in range(audio_chunks if speaks else 0):
        audio = {"data": base64.b64encode(tone_pcm()).decode(), "expires_at": CREATED + 86400,
                 "id": "audio_3e1f6a2c-7b9d-9c41-a5e2-0d8b6f4c1a37"}  # fmt: skip
        yield {
            "choices": [{"delta": {"audio": audio}, "finish_reason": None, "index": 0, "logprobs": None}],
            **tail,
        }
    stop = {"finish_reason": "stop", "delta": {"content": ""}, "index": 0, "logprobs": None}
    yield {"choices": [stop], **tail}
    details = {"audio_tokens": 3 if speaks else 0, "text_tokens": len(pieces)}
    usage = {"prompt_tokens": 19, "completion_tokens": len(pieces) + details["audio_tokens"],
             "total_tokens": 19 + len(pieces) + details["audio_tokens"],
             "prompt_tokens_details": {"text_tokens": 19}, "completion_tokens_details": details}  # fmt: skip
    yield {"choices": [], **tail, "usage": usage}


def _openai_chunks(pieces: list[str]) -> Iterator[dict[str, Any]]:
    head = {"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion.chunk", "created": CREATED,
            "model": "gpt-4o-mini-2024-07-18", "service_tier": "default", "system_fingerprint": "fp_44709d6fcb"}  # fmt: skip
    role = {"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None}, "logprobs": None,
            "finish_reason": None}  # fmt: skip
    yield {**head, "choices": [role], "usage": None}
    for piece in pieces:
        choice = {"index": 0, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}
        yield {**head, "choices": [choice], "usage": None}
    yield {
        **head,
        "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}],
        "usage": None,
    }
    usage = {"prompt_tokens": 19, "completion_tokens": len(pieces), "total_tokens": 19 + len(pieces)}
    yield {**head, "choices": [], "usage": usage}


def serve(app: Starlette) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Run ``app`` with uvicorn in a thread on a free port; returns the server, its thread and URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake server did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def stop(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=30)


@dataclass
class Running:
    fake: FakeOmni
    server: uvicorn.Server
    thread: threading.Thread


def start(flavor: str) -> Running:
    fake = FakeOmni(flavor)
    server, thread, url = serve(fake.app())
    fake.url = f"{url}/v1"
    return Running(fake, server, thread)
