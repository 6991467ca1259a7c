"""The wire models of the REST API, shared by the server and the Python client.

The floor: pydantic and ``omnidex.types`` only, so the client installs without the server.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from omnidex.types import MAX_TOP_K, DocStatus, Hit, ItemKind, Modality


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class UploadedDocument(BaseModel):
    id: str
    name: str
    status: DocStatus
    duplicate: bool = Field(False, description="The same bytes were already uploaded: this is that document.")


class UploadResponse(BaseModel):
    documents: list[UploadedDocument]


class DocumentOut(BaseModel):
    id: str
    name: str
    mime: str | None
    size: int
    sha256: str
    status: DocStatus
    progress: float = Field(description="0 to 1.")
    stage: str | None = None
    error: ErrorDetail | None = None
    item_count: int
    items_by_modality: dict[str, int] = Field(default_factory=dict)
    caption_tokens: int = Field(0, description="Tokens the captioner used on this document.")
    notes: list[str] = Field(
        default_factory=list, description="What could not be done, e.g. captions that failed (still ready)."
    )
    created_at: datetime
    updated_at: datetime


class DocumentList(BaseModel):
    documents: list[DocumentOut]


class SearchRequest(BaseModel):
    query: str | None = Field(None, max_length=4096, description="What to look for, in words.")
    image: str | None = Field(None, description="A picture to look for, base64-encoded (JSON requests).")
    audio: str | None = Field(None, description="A spoken question, base64-encoded audio (JSON requests).")
    top_k: int = Field(10, ge=1, le=MAX_TOP_K, strict=True, description="How many hits, a whole number.")
    modalities: list[Modality] = Field(
        default_factory=list, description="Only these modalities; all if empty."
    )
    doc_ids: list[str] = Field(default_factory=list, description="Only these documents; all if empty.")

    @model_validator(mode="after")
    def _something_to_find(self) -> SearchRequest:
        if not (self.query or "").strip() and not self.image and not self.audio:
            raise ValueError("give a query: words (query), a picture (image), a voice recording (audio)")
        return self


class HitOut(BaseModel):
    id: str
    score: float
    modality: Modality
    kind: ItemKind
    doc_id: str
    source: str
    page: int | None
    start: float | None
    end: float | None
    t: float | None = Field(None, description="A video keyframe's moment, in seconds.")
    text: str
    media_url: str | None
    thumbnail_url: str | None = None
    item_start: float | None = Field(
        None, description="The whole item's start: a speech hit's start/end is the sentence that answers."
    )
    item_end: float | None = Field(None, description="The whole item's end.")
    caption: str | None = Field(
        None, description="What the captioner (OMNIDEX_CAPTIONER) said a picture, keyframe or sound shows."
    )
    relevance: Literal["strong", "weak", "none"] | None = Field(
        None,
        description="How well it matches, in words: from the raw similarities, not the fused rank score "
        "(OMNIDEX_RELEVANCE_*).",
    )
    scores: dict[str, float] | None = Field(
        None,
        description="The raw score in each vector space that found it: text and image cosine similarity, "
        "sparse BM25, and a speech hit's best sentence.",
    )

    @classmethod
    def from_hit(cls, hit: Hit) -> HitOut:
        return cls.model_validate(hit, from_attributes=True)


class ItemList(BaseModel):
    items: list[HitOut] = Field(description="The document's items, shaped like hits (score 0).")


class NoticeOut(BaseModel):
    code: str
    message: str


class SearchResponse(BaseModel):
    hits: list[HitOut]
    timings_ms: dict[str, float]
    image_text: str | None = Field(None, description="The text OCR read in the query image, if any.")
    transcript: str | None = Field(None, description="What was heard in the voice question, if any.")
    notices: list[NoticeOut] = Field(
        default_factory=list, description="What could not be done, and why (e.g. the reranker failed)."
    )


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=16_000)


class AnswerRequest(SearchRequest):
    top_k: int | None = Field(  # type: ignore[assignment]
        None,
        ge=1,
        le=MAX_TOP_K,
        strict=True,
        description="Hits to answer from (default OMNIDEX_ANSWER_TOP_K).",
    )
    stream: bool = Field(False, description="Server-sent events as the answer is written.")
    speak: bool = Field(False, description="Also answer in speech (24 kHz PCM16).")
    voice: str | None = Field(None, max_length=64, description="The speaking voice (default per backend).")
    language: str | None = Field(None, max_length=64, description="Answer in this language.")
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=32768, description="Most tokens in the written answer.")
    history: list[Turn] = Field(
        default_factory=list,
        max_length=40,
        description="The conversation so far, oldest first: a follow-up question is answered (and, when "
        "short, searched) with it.",
    )
    mode: Literal["talk", "think", "auto"] = Field(
        "talk",
        description="talk: the Instruct model writes (and speaks) at once. think: the reasoning model "
        "reasons first, streamed as `thinking` events, never part of the answer. auto: think when the "
        "question compares or adds up across two or more documents, else talk.",
    )


class CitationOut(HitOut):
    number: int = Field(description="The [n] in the answer.")


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AnswerResponse(BaseModel):
    answer: str | None = Field(description="The written answer with [n] marks; null without a generator.")
    citations: list[CitationOut]
    hits: list[HitOut]
    notices: list[NoticeOut] = Field(default_factory=list, description="What could not be done, and why.")
    audio: str | None = Field(None, description="The spoken answer: base64 WAV (16-bit mono).")
    timings_ms: dict[str, float]
    usage: UsageOut | None = None
    transcript: str | None = None
    image_text: str | None = None
    error: ErrorDetail | None = Field(None, description="Why there is no answer (HTTP 502).")
    mode: Literal["talk", "think"] = Field("talk", description="The mode that answered.")
    thinking: str | None = Field(None, description="The reasoning model's reasoning, in think mode.")


class RetrievalEvent(BaseModel):
    """SSE ``retrieval``: the hits the answer is written from."""

    hits: list[HitOut]
    transcript: str | None = None
    image_text: str | None = None


class ThinkingEvent(BaseModel):
    """SSE ``thinking``: the next piece of the reasoning (think mode), never part of the answer."""

    text: str


class TextEvent(BaseModel):
    """SSE ``text``: the next piece of the written answer."""

    text: str


class AudioEvent(BaseModel):
    """SSE ``audio``: the next piece of the spoken answer."""

    data: str = Field(description="Base64 of 16-bit little-endian mono PCM.")
    format: str = "pcm16"
    sample_rate: int

    def pcm(self) -> bytes:
        return base64.b64decode(self.data)


class NoticeEvent(NoticeOut):
    """SSE ``notice``: something that could not be done, and why."""


class CitationsEvent(BaseModel):
    """SSE ``citations``: the sources the answer cites, by number."""

    citations: list[CitationOut]


class DoneEvent(BaseModel):
    """SSE ``done``: the whole answer, timings and token usage."""

    answer: str | None
    timings_ms: dict[str, float]
    usage: UsageOut | None = None
    mode: Literal["talk", "think"] = "talk"


class ErrorEvent(BaseModel):
    """SSE ``error``: the generator failed (``part`` answer) or the speech did (``part`` speech)."""

    code: str
    message: str
    part: str


AnswerEvent = (
    RetrievalEvent
    | ThinkingEvent
    | TextEvent
    | AudioEvent
    | NoticeEvent
    | CitationsEvent
    | DoneEvent
    | ErrorEvent
)
ANSWER_EVENTS: dict[str, type[BaseModel]] = {
    "retrieval": RetrievalEvent,
    "thinking": ThinkingEvent,
    "text": TextEvent,
    "audio": AudioEvent,
    "notice": NoticeEvent,
    "citations": CitationsEvent,
    "done": DoneEvent,
    "error": ErrorEvent,
}


class Feature(BaseModel):
    enabled: bool
    model: str | None = None
    dim: int | None = None
    reason: str | None = Field(None, description="Why it is off.")


class InfoResponse(BaseModel):
    version: str
    vector_store: str
    text: Feature
    sparse: Feature
    visual_search: Feature
    ocr: Feature
    speech: Feature
    answers: Feature = Field(description="Written answers: the generator backend and its model.")
    spoken_answers: Feature
    thinking: Feature = Field(
        default_factory=lambda: Feature(enabled=False), description="Think mode: the reasoning model."
    )
    captions: Feature = Field(
        default_factory=lambda: Feature(enabled=False), description="Captions at ingest: the captioner."
    )
    max_upload_bytes: int


class HealthResponse(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)
