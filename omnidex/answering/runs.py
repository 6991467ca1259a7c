"""One answer's upstream requests, as events: talk (written and spoken at once) or think.

In talk mode the written and the spoken answer are two concurrent requests on
one context; a caller that goes away cancels both. In think mode the reasoning
model writes (its reasoning as separate events), and the talking model then
reads the written answer aloud (``omnidex.answering.modes``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing

import anyio

from omnidex.answering.events import Audio, Event, Failed, Notice, Prepared, Text, Thinking
from omnidex.answering.modes import read_aloud
from omnidex.errors import GeneratorError, OmnidexError
from omnidex.generation.base import (
    AudioDelta,
    GenerationRequest,
    Generator,
    ReasoningDelta,
    TextDelta,
    Usage,
)

log = logging.getLogger(__name__)


class Run:
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

    async def _deltas(
        self, request: GenerationRequest, part: str, generator: Generator | None = None
    ) -> AsyncGenerator[Event]:
        """One upstream request as events; a failure ends it with a Failed event."""
        try:
            async for delta in (generator or self.generator).stream(request):
                if isinstance(delta, ReasoningDelta):
                    self.firsts.setdefault("first_thinking_ms", time.perf_counter())
                    yield Thinking(delta.text)
                elif isinstance(delta, TextDelta):
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


class Thought(Run):
    """Think mode: the reasoning model writes; then, when asked, the talking model reads it aloud."""

    def __init__(
        self, generator: Generator, prepared: Prepared, max_tokens: int, reasoner: Generator
    ) -> None:
        super().__init__(generator, prepared, max_tokens)
        self.reasoner = reasoner

    async def events(self) -> AsyncGenerator[Event]:
        ask = self.prepared.ask
        written = GenerationRequest(
            self.prepared.context.messages(language=ask.language),
            language=ask.language,
            temperature=ask.temperature,
            max_tokens=ask.max_tokens or self.max_tokens,
            think=True,
        )
        async with aclosing(self._deltas(written, "answer", self.reasoner)) as events:
            async for event in events:
                yield event
        if self.failed or not ask.speak:
            return
        if not self.generator.speaks:
            yield Notice("speech_unavailable", f"the {self.generator.name} backend cannot speak")
            return
        # Said in done's timings: the speech began once the written answer was known.
        self.firsts["speech_after_answer_ms"] = time.perf_counter()
        spoken = GenerationRequest(
            read_aloud("".join(self.text), ask.language),
            text=False,
            speech=True,
            voice=ask.voice,
            language=ask.language,
            temperature=ask.temperature,
        )
        async with aclosing(self._deltas(spoken, "speech")) as events:
            async for event in events:
                yield event
