"""What an answer is made of: the question as the API takes it, and the events an answer streams."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from omnidex.answering.citations import Citation
from omnidex.answering.context import Context
from omnidex.generation.base import Usage
from omnidex.retrieval import SearchResult


@dataclass(slots=True)
class Ask:
    """A question as the API takes it."""

    query: str | None = None
    image: bytes | None = None
    audio: bytes | None = None
    top_k: int = 8
    modalities: Sequence[str] = ()
    doc_ids: Sequence[str] = ()
    history: list[tuple[str, str]] = field(default_factory=list)
    speak: bool = False
    voice: str | None = None
    language: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    mode: str = "talk"  # talk | think | auto


@dataclass(slots=True)
class Prepared:
    ask: Ask
    found: SearchResult
    context: Context
    started: float
    timings_ms: dict[str, float]


@dataclass(frozen=True, slots=True)
class Retrieved:
    found: SearchResult


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Thinking:
    """A piece of the reasoning model's reasoning: never part of the answer or its citations."""

    text: str


@dataclass(frozen=True, slots=True)
class Audio:
    pcm: bytes
    rate: int


@dataclass(frozen=True, slots=True)
class Notice:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Cited:
    citations: list[Citation]


@dataclass(frozen=True, slots=True)
class Failed:
    code: str
    message: str
    part: str  # "answer" or "speech"


@dataclass(frozen=True, slots=True)
class Finished:
    answer: str | None
    timings_ms: dict[str, float]
    usage: Usage | None
    mode: str = "talk"  # the mode that answered: talk or think


Event = Retrieved | Thinking | Text | Audio | Notice | Cited | Failed | Finished
