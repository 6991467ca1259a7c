"""Context packing: the top hits, in rank order, as numbered sources within budgets.

Text chunks become numbered passages. Pictures go as small JPEGs, recordings
as ≤ 30 s WAV clips, and a video moment as a few keyframes plus its sound as
separate parts (servers mishandle audio inside video). Every source gets a
number for the ``[n]`` citations; a hit that fits no budget is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from omnidex.answering.prompts import ANSWER, SPEECH, with_language
from omnidex.generation.base import AudioPart, Budget, ImagePart, Message, Part, TextPart
from omnidex.types import Hit, ItemKind, Modality

CHARS_PER_TOKEN = 4
MIN_CLIP_SECONDS = 1.0


class Media(Protocol):
    def picture(self, item_id: str, side: int) -> bytes | None: ...
    def keyframes(self, item_id: str, start: float, end: float, count: int, side: int) -> list[bytes]: ...
    def audio(self, item_id: str, start: float, seconds: float) -> tuple[bytes, float] | None: ...


@dataclass(slots=True)
class Question:
    text: str = ""
    picture: bytes | None = None  # JPEG
    recording: AudioPart | None = None  # 16 kHz WAV
    heard: str | None = None  # the recording, transcribed
    history: list[tuple[str, str]] = field(default_factory=list)  # earlier (role, text) turns


@dataclass(slots=True)
class Source:
    number: int
    hit: Hit
    parts: list[Part]


@dataclass(slots=True)
class Context:
    sources: list[Source]
    question: Question

    def messages(self, *, spoken: bool = False, language: str | None = None) -> list[Message]:
        """System prompt, earlier turns, then one user message: the sources, then the question."""
        system = Message("system", [TextPart(with_language(SPEECH if spoken else ANSWER, language))])
        history = [Message(role, [TextPart(text)]) for role, text in self.question.history]
        parts: list[Part] = []
        if self.sources:
            parts.append(TextPart("Sources:"))
            for source in self.sources:
                parts.extend(source.parts)
        else:
            parts.append(TextPart("No sources were found for this question."))
        parts.extend(self._question_parts())
        return [system, *history, Message("user", parts)]

    def _question_parts(self) -> list[Part]:
        question = self.question
        parts: list[Part] = [TextPart(f"Question: {question.text}" if question.text else "Question:")]
        if question.picture:
            parts.append(ImagePart(question.picture))
        if question.recording:
            parts.append(question.recording)
            if question.heard:
                parts.append(TextPart(f"(The question was asked aloud; it was heard as: {question.heard})"))
        return parts

    def by_number(self) -> dict[int, Hit]:
        return {source.number: source.hit for source in self.sources}


class _Packer:
    def __init__(self, media: Media, budget: Budget) -> None:
        self.media = media
        self.budget = budget
        self.tokens = budget.max_tokens
        self.images = budget.max_images
        self.seconds = budget.max_audio_seconds
        self.moments = budget.max_video_clips

    def source(self, number: int, hit: Hit) -> list[Part] | None:
        media = self._media(hit)
        text = _excerpt(hit)
        header = f"[{number}] {_label(hit)}"
        room = self.tokens * CHARS_PER_TOKEN - len(header) - 2
        if room <= 0 and not media:
            return None
        body = _clip_text(text, room) if text and room > 0 else ""
        self.tokens -= (len(header) + len(body) + 2 + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
        return [TextPart(f"{header}\n{body}".rstrip()), *media]

    def _media(self, hit: Hit) -> list[Part]:
        if hit.modality is Modality.VIDEO:
            return self._moment(hit)
        if hit.kind is ItemKind.IMAGE:
            return self._pictures(lambda side: [self.media.picture(hit.id, side)])
        start, end = _item_span(hit)
        if hit.kind in (ItemKind.SPEECH, ItemKind.SOUND) and start is not None and end is not None:
            return self._sound(hit, start, end - start)
        return []

    def _moment(self, hit: Hit) -> list[Part]:
        if self.moments <= 0:
            return []
        item_start, item_end = _item_span(hit)
        if hit.kind is ItemKind.SPEECH and item_start is not None and item_end is not None:
            start, end = item_start, item_end
        else:
            middle = hit.t or 0.0
            start = max(0.0, middle - self.budget.moment_seconds / 2)
            end = start + self.budget.moment_seconds
        count = min(self.budget.frames_per_moment, self.images)
        frames = self._pictures(lambda side: self.media.keyframes(hit.id, start, end, count, side))
        parts = frames + self._sound(hit, start, end - start)
        if parts:
            self.moments -= 1
        return parts

    def _pictures(self, load: Callable[[int], Sequence[bytes | None]]) -> list[Part]:
        if self.images <= 0:
            return []
        pictures = [data for data in load(self.budget.image_side) if data][: self.images]
        self.images -= len(pictures)
        return [ImagePart(data) for data in pictures]

    def _sound(self, hit: Hit, start: float, seconds: float) -> list[Part]:
        seconds = min(seconds, self.budget.clip_cap_seconds, self.seconds)
        if seconds < MIN_CLIP_SECONDS:
            return []
        clip = self.media.audio(hit.id, start, seconds)
        if clip is None:
            return []
        self.seconds -= clip[1]
        return [AudioPart(clip[0], clip[1])]


def pack(hits: Sequence[Hit], question: Question, media: Media, budget: Budget) -> Context:
    """Number the hits that fit the budgets, in rank order, with their media."""
    packer = _Packer(media, budget)
    sources: list[Source] = []
    for hit in hits:
        parts = packer.source(len(sources) + 1, hit)
        if parts is not None:
            sources.append(Source(len(sources) + 1, hit, parts))
    return Context(sources, question)


def _label(hit: Hit) -> str:
    where = hit.source or "a document"
    if hit.modality is Modality.VIDEO:
        if hit.kind is ItemKind.SPEECH:
            return f"video {where}, {_span(hit)}, what is said:"
        return f"video {where} at {_clock(hit.t or 0.0)}, frames and sound:"
    if hit.kind is ItemKind.SPEECH:
        return f"recording {where}, {_span(hit)}, what is said:"
    if hit.kind is ItemKind.SOUND:
        return f"recording {where}, {_span(hit)}, sounds without speech:"
    page = f", page {hit.page}" if hit.page else ""
    if hit.kind is ItemKind.IMAGE:
        return f"picture in {where}{page}" + (", text in it:" if hit.text else ":" if hit.caption else "")
    if hit.kind is ItemKind.TABLE:
        return f"table in {where}{page}:"
    return f"{where}{page}:"


def _excerpt(hit: Hit) -> str:
    """The hit's words, and what the captioner saw or heard in it."""
    text = " ".join(hit.text.split())
    if hit.caption:
        text = f"{text}\n(Described: {' '.join(hit.caption.split())})".strip()
    return text


def _item_span(hit: Hit) -> tuple[float | None, float | None]:
    """The whole item's span (the model hears all of it), else the hit's own."""
    if hit.item_start is not None and hit.item_end is not None:
        return hit.item_start, hit.item_end
    return hit.start, hit.end


def _span(hit: Hit) -> str:
    start, end = _item_span(hit)
    return f"{_clock(start or 0.0)}–{_clock(end or 0.0)}"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _clip_text(text: str, room: int) -> str:
    if len(text) <= room:
        return text
    cut = text[: max(0, room - 1)].rsplit(" ", 1)[0]
    return cut + "…"
