"""Question → retrieval → packed context → a written answer and, when asked, a spoken one.

:meth:`Answerer.prepare` does everything that can fail because of the
request (before any response is sent); :meth:`Answerer.answer` then streams
events. The written and the spoken answer are two concurrent requests on one
context; a caller that goes away cancels both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from concurrent.futures import Executor
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial

import anyio

from omnidex.answering.citations import Citation, cite
from omnidex.answering.context import Context, Media, Question, pack
from omnidex.answering.media import question_picture, question_recording
from omnidex.errors import GeneratorError, OmnidexError
from omnidex.generation.base import (
    AudioDelta,
    AudioPart,
    Budget,
    GenerationRequest,
    Generator,
    TextDelta,
    Usage,
)
from omnidex.retrieval import Retriever, SearchResult

log = logging.getLogger(__name__)

NO_GENERATOR = (
    "no generator is configured, so here are the sources without an answer: set OMNIDEX_GENERATOR "
    "(vllm-omni, dashscope, openai or transformers) and OMNIDEX_GENERATOR_URL"
)
MAX_QUESTION_SECONDS = 30.0


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


Event = Retrieved | Text | Audio | Notice | Cited | Failed | Finished


class Answerer:
    def __init__(
        self,
        retriever: Retriever,
        generator: Generator | None,
        media: Callable[[str], Media],
        executor: Executor,
        budget: Budget,
        *,
        max_image_pixels: int = 100_000_000,
        max_tokens: int = 1024,
        on_answer: Callable[[dict[str, float] | None], None] | None = None,
    ) -> None:
        """``on_answer`` hears each answer's timings, or None when the generator failed."""
        self.on_answer = on_answer
        self.retriever = retriever
        self.generator = generator
        self.media = media
        self.executor = executor
        self.budget = budget
        self.max_image_pixels = max_image_pixels
        self.max_tokens = max_tokens

    async def prepare(self, tenant: str, ask: Ask, started: float | None = None) -> Prepared:
        """Retrieve and pack; raises InvalidRequest for a bad question."""
        started = time.perf_counter() if started is None else started
        loop = asyncio.get_running_loop()
        search = partial(
            self.retriever.search,
            tenant,
            ask.query,
            image=ask.image,
            audio=ask.audio,
            top_k=ask.top_k,
            modalities=ask.modalities,
            doc_ids=ask.doc_ids,
        )
        found = await loop.run_in_executor(self.executor, search)
        retrieved = time.perf_counter()
        context = await loop.run_in_executor(self.executor, self._pack, tenant, ask, found)
        timings = {
            "retrieval_ms": _ms(retrieved - started),
            "pack_ms": _ms(time.perf_counter() - retrieved),
        }
        return Prepared(ask, found, context, started, timings)

    def _pack(self, tenant: str, ask: Ask, found: SearchResult) -> Context:
        sees = self.generator is not None and self.generator.sees
        question = Question(text=(ask.query or "").strip(), heard=found.transcript, history=ask.history)
        if sees and ask.image:
            question.picture = question_picture(ask.image, self.budget.image_side, self.max_image_pixels)
        if sees and ask.audio:
            question.recording = AudioPart(*question_recording(ask.audio, MAX_QUESTION_SECONDS))
        if not question.text and found.image_text and not sees:
            question.text = f"(a picture whose text reads: {found.image_text})"
        if not question.text and found.transcript and not question.recording:
            question.text = found.transcript
        return pack(found.hits, question, self.media(tenant), self.budget)

    async def answer(self, prepared: Prepared) -> AsyncGenerator[Event]:
        """The events of one answer: retrieval, text/audio deltas, citations, then finished."""
        yield Retrieved(prepared.found)
        for code, message in prepared.found.notices:
            yield Notice(code, message)
        timings = dict(prepared.timings_ms)
        if self.generator is None:
            yield Notice("generator_not_configured", NO_GENERATOR)
            yield Finished(None, _total(timings, prepared.started), None)
            return
        run = _Run(self.generator, prepared, self.max_tokens)
        async with aclosing(run.events()) as events:
            async for event in events:
                yield event
        if run.failed:
            if self.on_answer is not None:
                self.on_answer(None)
            return
        text = "".join(run.text)
        yield Cited(cite(text, prepared.context.by_number()))
        for name, value in run.firsts.items():
            timings[name] = _ms(value - prepared.started)
        finished = Finished(text, _total(timings, prepared.started), run.usage)
        if self.on_answer is not None:
            self.on_answer(finished.timings_ms)
        yield finished


class _Run:
    """One answer's concurrent upstream requests, merged into one event stream."""

    def __init__(self, generator: Generator, prepared: Prepared, max_tokens: int) -> None:
        self.generator = generator
        self.prepared = prepared
        self.max_tokens = max_tokens
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.text: list[str] = []
        self.usage: Usage | None = None
        self.firsts: dict[str, float] = {}
        self.failed = False

    async def events(self) -> AsyncGenerator[Event]:
        ask = self.prepared.ask
        context = self.prepared.context
        written = GenerationRequest(
            context.messages(language=ask.language),
            language=ask.language,
            temperature=ask.temperature,
            max_tokens=ask.max_tokens or self.max_tokens,
        )
        if ask.speak and not self.generator.speaks:
            yield Notice(
                "speech_unavailable",
                f"the {self.generator.name} backend cannot speak, so the answer is in text only",
            )
        if not ask.speak or not self.generator.speaks:
            # One request: relay it in this task, without a queue in between.
            async with aclosing(self._deltas(written, "answer")) as events:
                async for event in events:
                    yield event
            return
        spoken = GenerationRequest(
            context.messages(spoken=True, language=ask.language),
            text=False,
            speech=True,
            voice=ask.voice,
            language=ask.language,
            temperature=ask.temperature,
            max_tokens=ask.max_tokens or self.max_tokens,
        )
        tasks = [asyncio.create_task(self._pump(request, part)) for request, part in
                 ((written, "answer"), (spoken, "speech"))]  # fmt: skip
        running = len(tasks)
        try:
            while running:
                for ready in self._ready(await self.queue.get()):
                    if ready is None:
                        running -= 1
                        continue
                    yield ready
                    if isinstance(ready, Failed) and ready.part == "answer":
                        return
        finally:
            for task in tasks:
                task.cancel()
            # Not gather(): cancelling a gather cancels its tasks again, and the
            # server's cancel scope keeps cancelling us while they close upstream.
            with anyio.CancelScope(shield=True):
                await asyncio.wait(tasks)

    def _ready(self, first: Event | None) -> list[Event | None]:
        """``first`` and whatever else has arrived, text pieces in a row joined into one.

        A burst of small deltas then goes out as one event instead of a queue of them.
        """
        ready: list[Event | None] = [first]
        while not self.queue.empty():
            event = self.queue.get_nowait()
            last = ready[-1]
            if isinstance(event, Text) and isinstance(last, Text):
                ready[-1] = Text(last.text + event.text)
            else:
                ready.append(event)
        return ready

    async def _pump(self, request: GenerationRequest, part: str) -> None:
        try:
            async for event in self._deltas(request, part):
                self.queue.put_nowait(event)
        finally:
            self.queue.put_nowait(None)

    async def _deltas(self, request: GenerationRequest, part: str) -> AsyncGenerator[Event]:
        """One upstream request as events; a failure ends it with a Failed event."""
        try:
            async for delta in self.generator.stream(request):
                if isinstance(delta, TextDelta):
                    self.firsts.setdefault("first_token_ms", time.perf_counter())
                    self.text.append(delta.text)
                    yield Text(delta.text)
                elif isinstance(delta, AudioDelta):
                    self.firsts.setdefault("first_audio_ms", time.perf_counter())
                    yield Audio(delta.pcm, delta.rate)
                elif part == "answer":
                    self.usage = delta
        except OmnidexError as exc:
            if not isinstance(exc, GeneratorError):
                log.warning("the %s failed: %s", part, exc.message)
            self.failed = self.failed or part == "answer"
            yield Failed(exc.code, exc.message, part)
        except Exception as exc:
            log.exception("the %s failed", part)
            self.failed = self.failed or part == "answer"
            yield Failed("generator_failed", f"the {part} failed: {exc}", part)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _total(timings: dict[str, float], started: float) -> dict[str, float]:
    return dict(timings, total_ms=_ms(time.perf_counter() - started))
