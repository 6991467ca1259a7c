"""Answer events as the API sends them: SSE names and wire models, citations and usage."""

from __future__ import annotations

import base64

from pydantic import BaseModel

from omnidex.answering.answer import (
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
from omnidex.answering.citations import Citation
from omnidex.schemas import (
    AudioEvent,
    CitationOut,
    CitationsEvent,
    DoneEvent,
    ErrorEvent,
    HitOut,
    NoticeEvent,
    RetrievalEvent,
    TextEvent,
    ThinkingEvent,
    UsageOut,
)


def citation_out(citation: Citation) -> CitationOut:
    return CitationOut.model_validate(
        {**HitOut.from_hit(citation.hit).model_dump(), "number": citation.number}
    )


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
    if isinstance(event, Thinking):
        return "thinking", ThinkingEvent(text=event.text)
    if isinstance(event, Audio):
        return "audio", AudioEvent(data=base64.b64encode(event.pcm).decode("ascii"), sample_rate=event.rate)
    if isinstance(event, Notice):
        return "notice", NoticeEvent(code=event.code, message=event.message)
    if isinstance(event, Cited):
        return "citations", CitationsEvent(citations=[citation_out(c) for c in event.citations])
    if isinstance(event, Failed):
        return "error", ErrorEvent(code=event.code, message=event.message, part=event.part)
    return "done", DoneEvent(
        answer=event.answer, timings_ms=event.timings_ms, usage=usage_out(event), mode=event.mode
    )


def usage_out(event: Finished) -> UsageOut | None:
    if event.usage is None:
        return None
    return UsageOut(
        prompt_tokens=event.usage.prompt_tokens,
        completion_tokens=event.usage.completion_tokens,
        total_tokens=event.usage.total_tokens,
    )
