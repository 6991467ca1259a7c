"""/v1/answer: retrieval, then Qwen3-Omni's cited answer — as one JSON, or streamed as SSE."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from omnidex.api.deps import RuntimeDep, TenantDep
from omnidex.api.routes.search import read_query
from omnidex.api.schemas import (
    AnswerRequest,
    AnswerResponse,
    AudioEvent,
    CitationOut,
    CitationsEvent,
    DoneEvent,
    ErrorDetail,
    ErrorEvent,
    ErrorResponse,
    HitOut,
    NoticeEvent,
    NoticeOut,
    RetrievalEvent,
    TextEvent,
    UsageOut,
)
from omnidex.api.sse import SSE_HEADERS, sse_event
from omnidex.generation.answer import (
    Ask,
    Audio,
    Cited,
    Event,
    Failed,
    Finished,
    Notice,
    Retrieved,
    Text,
)
from omnidex.generation.citations import Citation
from omnidex.generation.wire import wav_file
from omnidex.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["answer"])

_EVENTS = """SSE events, in order: `retrieval` (the hits), `text` (deltas), `audio` (base64 PCM16
chunks with their sample rate), `notice` (something could not be done, e.g. no generator or no
speech), `citations`, `done` (timings: retrieval_ms, first_token_ms, first_audio_ms, total_ms;
token usage), or `error` (the generator failed; the hits were already sent)."""


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
async def answer(request: Request, runtime: RuntimeDep, tenant: TenantDep) -> Any:
    """Answer a question (words, a picture, a voice recording) from the sources, with [n] citations."""
    received = time.perf_counter()
    body, image, audio = await read_query(request, AnswerRequest)
    ask = to_ask(body, image, audio, runtime)
    prepared = await runtime.answerer.prepare(tenant, ask, received)
    events = runtime.answerer.answer(prepared)
    if body.stream:
        return StreamingResponse(_sse(events), media_type="text/event-stream", headers=SSE_HEADERS)
    return await _collect(events)


def to_ask(body: AnswerRequest, image: bytes | None, audio: bytes | None, runtime: Runtime) -> Ask:
    return Ask(
        query=body.query,
        image=image,
        audio=audio,
        top_k=body.top_k or runtime.settings.answer_top_k,
        modalities=[str(m) for m in body.modalities],
        doc_ids=body.doc_ids,
        speak=body.speak,
        voice=body.voice,
        language=body.language,
        temperature=body.temperature,
        max_tokens=body.max_tokens,
    )


def citation_out(citation: Citation) -> CitationOut:
    return CitationOut.model_validate(
        {**HitOut.from_hit(citation.hit).model_dump(), "number": citation.number}
    )


async def _sse(stream: AsyncGenerator[Event]) -> AsyncIterator[str]:
    async with aclosing(stream) as events:
        async for event in events:
            if isinstance(event, Text):  # most events: skip the model, same bytes
                yield sse_event("text", {"text": event.text})
                continue
            name, data = wire_event(event)
            yield sse_event(name, data.model_dump(mode="json"))


def wire_event(event: Event) -> tuple[str, BaseModel]:
    """An answer event as the SSE stream carries it: its name and its model."""
    if isinstance(event, Retrieved):
        found = event.found
        hits = [HitOut.from_hit(hit) for hit in found.hits]
        return "retrieval", RetrievalEvent(
            hits=hits, transcript=found.transcript, image_text=found.image_text
        )
    if isinstance(event, Text):
        return "text", TextEvent(text=event.text)
    if isinstance(event, Audio):
        return "audio", AudioEvent(data=base64.b64encode(event.pcm).decode("ascii"), sample_rate=event.rate)
    if isinstance(event, Notice):
        return "notice", NoticeEvent(code=event.code, message=event.message)
    if isinstance(event, Cited):
        return "citations", CitationsEvent(citations=[citation_out(c) for c in event.citations])
    if isinstance(event, Failed):
        return "error", ErrorEvent(code=event.code, message=event.message, part=event.part)
    return "done", DoneEvent(answer=event.answer, timings_ms=event.timings_ms, usage=_usage(event))


async def _collect(events: AsyncIterator[Event]) -> JSONResponse:
    result: dict[str, Any] = {"answer": None, "citations": [], "hits": [], "notices": [], "timings_ms": {}}
    pcm: list[bytes] = []
    rate = 0
    async for event in events:
        if isinstance(event, Retrieved):
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
            result.update(answer=event.answer, timings_ms=event.timings_ms, usage=_usage(event))
    if pcm:
        result["audio"] = base64.b64encode(wav_file(b"".join(pcm), rate)).decode("ascii")
    response = AnswerResponse.model_validate(result)
    status = 502 if response.error else 200
    return JSONResponse(response.model_dump(mode="json"), status_code=status)


def _usage(event: Finished) -> UsageOut | None:
    if event.usage is None:
        return None
    return UsageOut(
        prompt_tokens=event.usage.prompt_tokens,
        completion_tokens=event.usage.completion_tokens,
        total_tokens=event.usage.total_tokens,
    )
