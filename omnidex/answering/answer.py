"""Question → retrieval → packed context → a written answer and, when asked, a spoken one.

:meth:`Answerer.prepare` does everything that can fail because of the
request (before any response is sent); :meth:`Answerer.answer` then streams
events (``omnidex.answering.events``), from the requests of
``omnidex.answering.runs``: talk or think.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Executor
from contextlib import aclosing
from functools import partial

from omnidex.answering.citations import cite
from omnidex.answering.context import Context, Media, Question, pack
from omnidex.answering.events import (
    Ask,
    Audio,
    Cited,
    Event,
    Failed,
    Finished,
    Notice,
    Prepared,
    Retrieved,
    Text,
    Thinking,
)
from omnidex.answering.media import question_picture, question_recording
from omnidex.answering.modes import pick_mode
from omnidex.answering.runs import Run, Thought
from omnidex.generation.base import AudioPart, Budget, Generator
from omnidex.retrieval import Retriever, SearchResult

__all__ = [
    "Answerer",
    "Ask",
    "Audio",
    "Cited",
    "Event",
    "Failed",
    "Finished",
    "Notice",
    "Prepared",
    "Retrieved",
    "Text",
    "Thinking",
]

NO_REASONER = (
    "no reasoning model is configured, so the answer talks instead of thinking: set "
    "OMNIDEX_REASONING_MODEL (e.g. Qwen/Qwen3-Omni-30B-A3B-Thinking) and, where it runs elsewhere, "
    "OMNIDEX_REASONING_URL"
)
NO_GENERATOR = (
    "no generator is configured, so here are the sources without an answer: set OMNIDEX_GENERATOR "
    "(vllm-omni, dashscope, openai or transformers) and OMNIDEX_GENERATOR_URL"
)
MAX_QUESTION_SECONDS = 30.0


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
        reasoner: Generator | None = None,
        reasoning_max_tokens: int = 4096,
    ) -> None:
        """``on_answer`` hears each answer's timings, or None when the generator failed;
        ``reasoner`` answers in think mode."""
        self.on_answer = on_answer
        self.reasoner = reasoner
        self.reasoning_max_tokens = reasoning_max_tokens
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
            search_words(ask),
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
        context = prepared.context
        mode = pick_mode(prepared.ask.mode, context.question.text, list(context.by_number().values()))
        if mode == "think" and self.reasoner is None:
            yield Notice("thinking_unavailable", NO_REASONER)
            mode = "talk"
        if mode == "think":
            assert self.reasoner is not None
            run: Run = Thought(self.generator, prepared, self.reasoning_max_tokens, self.reasoner)
        else:
            run = Run(self.generator, prepared, self.max_tokens)
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
        finished = Finished(text, _total(timings, prepared.started), run.usage, mode)
        if self.on_answer is not None:
            self.on_answer(finished.timings_ms)
        yield finished


FOLLOW_UP_WORDS = 12


def search_words(ask: Ask) -> str | None:
    """What to search with: a short follow-up ("and on Sundays?") carries the conversation's last
    question along, so it finds what the conversation is about."""
    question = (ask.query or "").strip()
    earlier = next((text for role, text in reversed(ask.history) if role == "user"), "")
    if not question or not earlier or len(question.split()) > FOLLOW_UP_WORDS:
        return ask.query
    return f"{earlier.strip()} {question}"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _total(timings: dict[str, float], started: float) -> dict[str, float]:
    return dict(timings, total_ms=_ms(time.perf_counter() - started))
