"""/v1/answer: retrieval, then Qwen3-Omni's cited answer — as one JSON, or streamed as SSE."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from omnidex.answering.answer import (
    Ask,
    Audio,
    Cited,
    Event,
    Failed,
    Finished,
    Notice,
    Retrieved,
    Text,
    Thinking,
)
from omnidex.api.deps import AnswererDep, SettingsDep, TenantDep
from omnidex.api.events import citation_out, usage_out, wire_event
from omnidex.api.queries import read_query
from omnidex.api.sse import SSE_HEADERS, sse_event
from omnidex.generation.wire import wav_file
from omnidex.schemas import (
    AnswerRequest,
    AnswerResponse,
    ErrorDetail,
    ErrorResponse,
    HitOut,
    NoticeOut,
)

router = APIRouter(prefix="/v1", tags=["answer"])

_EVENTS = """SSE events, in order: `retrieval` (the hits), `thinking` (think mode: the reasoning,
never part of the answer), `text` (deltas), `audio` (base64 PCM16 chunks with their sample rate),
`notice` (something could not be done, e.g. no generator or no speech), `citations`, `done` (the
mode that answered; timings: retrieval_ms, first_thinking_ms, first_token_ms, first_audio_ms,
speech_after_answer_ms when a reasoned answer was read aloud once written, total_ms; token
usage), or `error` (the generator failed; the hits were already sent)."""


@router.post(
    "/answer",
    response_model=AnswerResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE with `stream`."},
        400: {"model": ErrorResponse},
        502: {"model": AnswerResponse, "description": "The generator failed; the hits are included."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/AnswerRequest"}},
                "multipart/form-data": {"schema": {"type": "object"}},
            },
        }
    },
    description="Takes the query fields of /v1/search plus generation options.\n\n" + _EVENTS,
)
async def answer(request: Request, answerer: AnswererDep, settings: SettingsDep, tenant: TenantDep) -> Any:
    """Answer a question (words, a picture, a voice recording) from the sources, with [n] citations."""
    received = time.perf_counter()
    body, image, audio = await read_query(request, AnswerRequest)
    ask = to_ask(body, image, audio, settings.answer_top_k)
    prepared = await answerer.prepare(tenant, ask, received)
    events = answerer.answer(prepared)
    if body.stream:
        return StreamingResponse(_sse(events), media_type="text/event-stream", headers=SSE_HEADERS)
    return await _collect(events)


def to_ask(body: AnswerRequest, image: bytes | None, audio: bytes | None, default_top_k: int) -> Ask:
    return Ask(
        query=body.query,
        image=image,
        audio=audio,
        top_k=body.top_k or default_top_k,
        modalities=[str(m) for m in body.modalities],
        doc_ids=body.doc_ids,
        speak=body.speak,
        voice=body.voice,
        language=body.language,
        temperature=body.temperature,
        max_tokens=body.max_tokens,
        mode=body.mode,
        history=[(turn.role, turn.content) for turn in body.history if turn.content.strip()],
    )


async def _sse(stream: AsyncGenerator[Event]) -> AsyncIterator[str]:
    async with aclosing(stream) as events:
        async for event in events:
            if isinstance(event, Text):  # most events: skip the model, same bytes
                yield sse_event("text", {"text": event.text})
                continue
            name, data = wire_event(event)
            yield sse_event(name, data.model_dump(mode="json"))


async def _collect(events: AsyncIterator[Event]) -> JSONResponse:
    result: dict[str, Any] = {"answer": None, "citations": [], "hits": [], "notices": [], "timings_ms": {}}
    pcm: list[bytes] = []
    thinking: list[str] = []
    rate = 0
    async for event in events:
        if isinstance(event, Thinking):
            thinking.append(event.text)
        elif isinstance(event, Retrieved):
            result["hits"] = [HitOut.from_hit(hit) for hit in event.found.hits]
            result["transcript"] = event.found.transcript
            result["image_text"] = event.found.image_text
        elif isinstance(event, Audio):
            pcm.append(event.pcm)
            rate = event.rate
        elif isinstance(event, Notice):
            result["notices"].append(NoticeOut(code=event.code, message=event.message))
        elif isinstance(event, Cited):
            result["citations"] = [citation_out(c) for c in event.citations]
        elif isinstance(event, Failed) and event.part == "answer":
            result["error"] = ErrorDetail(code=event.code, message=event.message)
        elif isinstance(event, Failed):
            result["notices"].append(NoticeOut(code=event.code, message=f"no speech: {event.message}"))
        elif isinstance(event, Finished):
            result.update(
                answer=event.answer, timings_ms=event.timings_ms, usage=usage_out(event), mode=event.mode
            )
    if thinking:
        result["thinking"] = "".join(thinking)
    if pcm:
        result["audio"] = base64.b64encode(wav_file(b"".join(pcm), rate)).decode("ascii")
    response = AnswerResponse.model_validate(result)
    status = 502 if response.error else 200
    return JSONResponse(response.model_dump(mode="json"), status_code=status)
