"""Domain types shared by every layer: modalities, items, hits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Point ids are uuid5(namespace, f"{doc_id}/{item_key}"): re-indexing a
# document overwrites its points instead of adding new ones.
POINT_NAMESPACE = uuid.UUID("0f6e9a52-3c1c-4d4b-9a67-6f6d6e696465")
MAX_TOP_K = 100  # the most hits one query returns


class Modality(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"


class ItemKind(StrEnum):
    CHUNK = "chunk"
    TABLE = "table"
    IMAGE = "image"
    KEYFRAME = "keyframe"
    SPEECH = "speech"
    SOUND = "sound"  # a stretch of audio with no speech in it, found by its caption


class DocStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


@dataclass(slots=True)
class Item:
    """One retrievable piece of a document, before encoding."""

    key: str
    modality: Modality
    kind: ItemKind
    text: str = ""
    page: int | None = None
    start: float | None = None
    end: float | None = None
    t: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # A PIL image to encode (downscaled); dropped once the item is encoded.
    image: Any = None
    # Text still being read from the picture (a Future of OCR's text), settled before encoding.
    reading: Any = None
    # A WAV of a stretch with no speech, for the captioner; dropped once the item is encoded.
    sound: bytes | None = None

    def settle(self) -> None:
        """Wait for the text being read from the picture, and take it as the item's text."""
        if self.reading is not None:
            self.text = self.extra["ocr_text"] = self.reading.result()
            self.reading = None


def point_id(doc_id: str, item_key: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"{doc_id}/{item_key}"))


@dataclass(slots=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@dataclass(slots=True)
class Point:
    """What the vector store keeps for one item."""

    id: str
    vectors: dict[str, list[float]]
    sparse: dict[str, SparseVector]
    payload: dict[str, Any]


@dataclass(slots=True)
class ScoredPoint:
    id: str
    score: float
    payload: dict[str, Any]
    spaces: dict[str, float] = field(default_factory=dict)  # a fused point's raw score per space


@dataclass(slots=True)
class Hit:
    """A search result as the API returns it."""

    id: str
    score: float
    modality: Modality
    kind: ItemKind
    doc_id: str
    source: str
    page: int | None
    start: float | None
    end: float | None
    t: float | None
    text: str
    media_url: str | None
    thumbnail_url: str | None = None
    # The whole item's span (a speech item's, a scene's); start/end may point inside it.
    item_start: float | None = None
    item_end: float | None = None
    caption: str | None = None  # what the captioner said the picture or sound shows
    relevance: str | None = None  # strong | weak | none (omnidex.retrieval.relevance)
    scores: dict[str, float] | None = None  # the raw score in each vector space that found it
