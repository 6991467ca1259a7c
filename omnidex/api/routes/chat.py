"""OpenAI-compatible RAG chat: ``POST /v1/chat/completions`` and ``GET /v1/models``.

The last user message is the question (its text, an ``image_url`` data URL,
an ``input_audio`` recording); earlier turns go along as history. Retrieval
runs, and the answer comes back in OpenAI's shapes: ``delta.content`` with
``[n]`` marks, ``delta.audio`` (base64 PCM16, 24 kHz) when ``modalities``
asks for audio, and the citations as an extra ``citations`` field. In think
mode (model ``omnidex-think``, or ``"mode": "think"``) the reasoning streams in
``delta.reasoning``, the field vLLM's reasoning parsers use, so chat UIs fold it.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

import omnidex
from omnidex.answering.answer import Ask, Audio, Cited, Event, Failed, Finished, Notice, Text, Thinking
from omnidex.api.deps import AnswererDep, CallerDep, SettingsDep, TenantDep
from omnidex.api.events import citation_out
from omnidex.api.queries import decode_base64
from omnidex.api.sse import SSE_HEADERS
from omnidex.errors import GeneratorError, InvalidRequest, NoGenerator
from omnidex.generation.base import Usage
from omnidex.generation.wire import wav_file
from omnidex.schemas import ErrorResponse
from omnidex.types import MAX_TOP_K

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_ID = "omnidex"
MODES = {MODEL_ID: "talk", f"{MODEL_ID}-think": "think", f"{MODEL_ID}-auto": "auto"}
STARTED = int(time.time())
AUDIO_TTL_SECONDS = 24 * 3600


class ChatAudio(BaseModel):
    voice: str | None = None
    format: Literal["wav", "pcm16"] = "wav"


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    audio: ChatAudio | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    top_k: int | None = Field(None, ge=1, le=MAX_TOP_K, description="omnidex: hits to answer from.")
    doc_ids: list[str] = Field(default_factory=list, description="omnidex: only these documents.")
    mode: Literal["talk", "think", "auto"] | None = Field(
        None, description="omnidex: talk, think or auto (default: by the model, omnidex-think thinks)."
    )


@router.get("/models")
def list_models(caller: CallerDep) -> dict[str, Any]:
    """What omnidex serves: retrieval plus the configured generator, talking, thinking or either."""
    cards = [{"id": name, "object": "model", "created": STARTED, "owned_by": "omnidex"} for name in MODES]
    return {"object": "list", "data": cards}


@router.post(
    "/chat/completions",
    responses={400: {"model": ErrorResponse}, 502: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def chat_completions(
    body: ChatRequest, answerer: AnswererDep, settings: SettingsDep, tenant: TenantDep
) -> Any:
    """Chat with your documents through any OpenAI client (streaming, audio output, citations)."""
    received = time.perf_counter()
    if answerer.generator is None:
        raise NoGenerator("no generator is configured (OMNIDEX_GENERATOR), so omnidex cannot chat")
    ask = _ask(body)
    ask.top_k = body.top_k or settings.answer_top_k
    prepared = await answerer.prepare(tenant, ask, received)
    events = answerer.answer(prepared)
    reply = _Reply(body)
    if body.stream:
        return StreamingResponse(reply.stream(events), media_type="text/event-stream", headers=SSE_HEADERS)
    return await reply.collect(events)


def _ask(body: ChatRequest) -> Ask:
    last = body.messages[-1]
    if last.get("role") != "user":
        raise InvalidRequest("the last message must be the user's question")
    text, image, audio = _question(last.get("content"))
    history = []
    for message in body.messages[:-1]:
        role = message.get("role")
        if role in ("user", "assistant"):
            words = _question(message.get("content"))[0]
            if words:
                history.append((str(role), words))
    return Ask(
        query=text or None,
        image=image,
        audio=audio,
        doc_ids=body.doc_ids,
        history=history,
        speak="audio" in (body.modalities or []),
        voice=body.audio.voice if body.audio else None,
        temperature=body.temperature,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        mode=body.mode or MODES.get(body.model, "talk"),
    )


def _question(content: Any) -> tuple[str, bytes | None, bytes | None]:
    """The words, the picture and the recording of one message's content."""
    if isinstance(content, str):
        return content.strip(), None, None
    if not isinstance(content, list):
        return "", None, None
    words: list[str] = []
    image = audio = None
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            words.append(str(part.get("text", "")))
        elif kind == "image_url":
            url = (part.get("image_url") or {}).get("url", "")
            image = _data_url(url, "image_url")
        elif kind == "input_audio":
            audio = decode_base64((part.get("input_audio") or {}).get("data", ""), "input_audio")
    return " ".join(w.strip() for w in words if w.strip()), image, audio


def _data_url(url: str, field: str) -> bytes:
    if not url.startswith("data:") or "," not in url:
        raise InvalidRequest(f"{field}: omnidex takes pictures as data: URLs, not links")
    return decode_base64(url, field)


class _Reply:
    """One chat completion in OpenAI's shapes."""

    def __init__(self, body: ChatRequest) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.audio_id = f"audio_{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = body.model or MODEL_ID
        self.include_usage = bool((body.stream_options or {}).get("include_usage"))
        self.audio_format = body.audio.format if body.audio else "wav"

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **extra,
        }
        if self.include_usage:
            chunk.setdefault("usage", None)
        return f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n"

    async def stream(self, stream: AsyncGenerator[Event]) -> AsyncIterator[str]:
        yield self._chunk({"role": "assistant", "content": ""})
        audio_started = False
        citations: list[dict[str, Any]] = []
        async with aclosing(stream) as events:
            async for event in events:
                if isinstance(event, Text):
                    yield self._chunk({"content": event.text})
                elif isinstance(event, Thinking):
                    yield self._chunk({"reasoning": event.text})
                elif isinstance(event, Audio):
                    audio: dict[str, Any] = {"data": base64.b64encode(event.pcm).decode("ascii")}
                    if not audio_started:
                        audio["id"] = self.audio_id
                        audio_started = True
                    yield self._chunk({"audio": audio})
                elif isinstance(event, Notice):
                    yield self._chunk({}, notice={"code": event.code, "message": event.message})
                elif isinstance(event, Failed) and event.part == "speech":
                    notice = {"code": event.code, "message": f"no speech: {event.message}"}
                    yield self._chunk({}, notice=notice)
                elif isinstance(event, Failed):
                    error = {"message": event.message, "type": "generator_error", "param": None}
                    error["code"] = event.code
                    yield f"data: {json.dumps({'error': error}, separators=(',', ':'))}\n\n"
                    yield "data: [DONE]\n\n"
                    return
                elif isinstance(event, Cited):
                    citations = [citation_out(c).model_dump(mode="json") for c in event.citations]
                elif isinstance(event, Finished):
                    if audio_started:
                        yield self._chunk({"audio": {"expires_at": self.created + AUDIO_TTL_SECONDS}})
                    yield self._chunk({}, "stop", citations=citations)
                    if self.include_usage:
                        yield self._usage_chunk(event.usage)
        yield "data: [DONE]\n\n"

    def _usage_chunk(self, usage: Usage | None) -> str:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": _usage(usage),
        }
        return f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n"

    async def collect(self, events: AsyncIterator[Event]) -> JSONResponse:
        text: list[str] = []
        thinking: list[str] = []
        pcm: list[bytes] = []
        rate = 0
        citations: list[dict[str, Any]] = []
        notices: list[dict[str, str]] = []
        usage: Usage | None = None
        async for event in events:
            if isinstance(event, Text):
                text.append(event.text)
            elif isinstance(event, Thinking):
                thinking.append(event.text)
            elif isinstance(event, Audio):
                pcm.append(event.pcm)
                rate = event.rate
            elif isinstance(event, Notice):
                notices.append({"code": event.code, "message": event.message})
            elif isinstance(event, Failed) and event.part == "answer":
                raise GeneratorError(event.message)
            elif isinstance(event, Failed):
                notices.append({"code": event.code, "message": f"no speech: {event.message}"})
            elif isinstance(event, Cited):
                citations = [citation_out(c).model_dump(mode="json") for c in event.citations]
            elif isinstance(event, Finished):
                usage = event.usage
        audio = None
        if pcm:
            raw = b"".join(pcm)
            data = raw if self.audio_format == "pcm16" else wav_file(raw, rate)
            audio = {
                "id": self.audio_id,
                "data": base64.b64encode(data).decode("ascii"),
                "expires_at": self.created + AUDIO_TTL_SECONDS,
                "transcript": "",
            }
        message = {"role": "assistant", "content": "".join(text), "refusal": None, "audio": audio}
        if thinking:
            message["reasoning"] = "".join(thinking)
        completion = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": f"omnidex-{omnidex.__version__}",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
            "usage": _usage(usage),
            "citations": citations,
            "notices": notices,
        }
        return JSONResponse(completion)


def _usage(usage: Usage | None) -> dict[str, int]:
    usage = usage or Usage()
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
