"""What every generator takes and yields: a packed prompt in, reasoning, text and audio deltas out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

# Qwen3-Omni speaks 16-bit mono PCM at 24 kHz, whichever server runs it.
SPEECH_RATE = 24_000


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    jpeg: bytes


@dataclass(frozen=True, slots=True)
class AudioPart:
    wav: bytes
    seconds: float


Part = TextPart | ImagePart | AudioPart


@dataclass(slots=True)
class Message:
    role: str  # system | user | assistant
    parts: list[Part]


@dataclass(slots=True)
class GenerationRequest:
    """One call to a generator: the messages, and whether to write, speak, or both."""

    messages: list[Message]
    text: bool = True
    speech: bool = False
    voice: str | None = None
    language: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    think: bool = False  # ask a model that can reason either way to reason first (DashScope)


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning: shown apart, never part of the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class AudioDelta:
    pcm: bytes  # 16-bit little-endian mono
    rate: int = SPEECH_RATE


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


Delta = TextDelta | ReasoningDelta | AudioDelta | Usage


class Generator(Protocol):
    """A Qwen3-Omni backend. ``stream`` raises GeneratorError, GeneratorTimeout or InvalidRequest."""

    name: str
    model: str
    speaks: bool  # can it answer in speech at all?
    sees: bool  # does it take pictures and audio, or only text?

    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]: ...

    async def check(self) -> str:
        """A line on its readiness; raises when it cannot answer now."""
        ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class Budget:
    """How much context one question may carry."""

    max_tokens: int = 6000
    max_images: int = 4
    max_audio_seconds: float = 90.0
    max_video_clips: int = 2
    image_side: int = 768
    clip_cap_seconds: float = 30.0
    frames_per_moment: int = 3
    moment_seconds: float = 6.0
