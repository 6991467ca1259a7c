"""Captions at ingest: a Qwen3-Omni backend describes each picture, keyframe and stretch of sound.

A caption makes an item findable by what it shows or sounds like when no words
are printed in it and CLIP is off. Requests go out at most ``concurrency`` at a
time, one event loop per call (ingest runs in worker threads), on a backend made
for that call and closed after it. A request that fails leaves its item
without a caption and says why; it never fails the document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from omnidex.errors import OmnidexError
from omnidex.generation.base import (
    AudioPart,
    GenerationRequest,
    Generator,
    ImagePart,
    Message,
    Part,
    TextDelta,
    TextPart,
    Usage,
)

PICTURE = (
    "Describe this picture in one short paragraph for a search index: what it shows, the people, "
    "objects, animals, place, colours and any writing. Plain sentences, no preamble."
)
SOUND = (
    "Describe this recording in one short paragraph for a search index: what can be heard (music "
    "and its instruments, animals, machines, weather, crowds, voices without words), its mood and how "
    "it changes. Plain sentences, no preamble."
)


@dataclass(frozen=True, slots=True)
class Picture:
    jpeg: bytes


@dataclass(frozen=True, slots=True)
class Sound:
    wav: bytes
    seconds: float


@dataclass(frozen=True, slots=True)
class Caption:
    text: str | None  # None when it failed
    tokens: int = 0
    error: str | None = None


class Captioner:
    def __init__(
        self, backend: Callable[[], Generator], *, concurrency: int = 4, max_tokens: int = 160
    ) -> None:
        """``backend`` makes a fresh backend for each call (its HTTP client belongs to one loop)."""
        self._backend = backend
        self.concurrency = concurrency
        self.max_tokens = max_tokens
        probe = backend()
        self.name = f"{probe.name}: {probe.model}"

    def describe(self, jobs: Sequence[Picture | Sound]) -> list[Caption]:
        """One caption per job, in order. Call from a thread without a running event loop."""
        if not jobs:
            return []
        return asyncio.run(self._describe_all(jobs))

    async def _describe_all(self, jobs: Sequence[Picture | Sound]) -> list[Caption]:
        backend = self._backend()
        gate = asyncio.Semaphore(self.concurrency)
        try:
            return await asyncio.gather(*(self._one(backend, gate, job) for job in jobs))
        finally:
            await backend.aclose()

    async def _one(self, backend: Generator, gate: asyncio.Semaphore, job: Picture | Sound) -> Caption:
        parts: list[Part]
        if isinstance(job, Picture):
            parts = [ImagePart(job.jpeg), TextPart(PICTURE)]
        else:
            parts = [AudioPart(job.wav, job.seconds), TextPart(SOUND)]
        request = GenerationRequest([Message("user", parts)], temperature=0.2, max_tokens=self.max_tokens)
        text: list[str] = []
        tokens = 0
        async with gate:
            try:
                async for delta in backend.stream(request):
                    if isinstance(delta, TextDelta):
                        text.append(delta.text)
                    elif isinstance(delta, Usage):
                        tokens = delta.total_tokens
            except OmnidexError as exc:
                return Caption(None, tokens, exc.message)
            except Exception as exc:  # a backend's own bug: the item goes on without a caption
                return Caption(None, tokens, f"the captioner failed: {exc!r}")
        said = " ".join("".join(text).split())
        return Caption(said, tokens) if said else Caption(None, tokens, "the captioner said nothing")
