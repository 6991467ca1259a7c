"""Alibaba Model Studio (DashScope) in OpenAI-compatible mode: qwen3-omni-flash.

Streaming is mandatory; speech arrives as headerless PCM16 at 24 kHz in
``delta.audio.data``; the voice goes in ``audio.voice``; and a user message may
carry only one kind of media, so mixed context is split across messages.
With ``enable_thinking`` the model reasons first, in ``delta.reasoning_content``
(tests/transcripts/dashscope-thinking.sse).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from omnidex.generation import wire
from omnidex.generation.base import (
    SPEECH_RATE,
    AudioDelta,
    AudioPart,
    Delta,
    GenerationRequest,
    ImagePart,
    Message,
    Part,
    ReasoningDelta,
    TextDelta,
    TextPart,
)

DEFAULT_MODEL = "qwen3-omni-flash"
DEFAULT_VOICE = "Cherry"


class DashScope(wire.HttpBackend):
    name = "dashscope"
    speaks = True
    sees = True

    default_model = DEFAULT_MODEL
    default_voice = DEFAULT_VOICE

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        conversation = split_media(request.messages)
        if request.speech:  # "when output modality includes audio, do not set a system message"
            conversation = fold_system(conversation)
        body = wire.chat_body(self.model, wire.messages(conversation, audio_data_url=True), request)
        body["modalities"] = ["text", "audio"] if request.speech else ["text"]
        if request.speech:
            body["audio"] = {"voice": request.voice or self.voice, "format": "wav"}
        if request.think:  # qwen3-omni-flash reasons only when asked, and then writes only
            body["enable_thinking"] = True
        return body

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        async for chunk in self.client.stream(self.body(request)):
            found = wire.choices(chunk)
            if not found and isinstance(chunk.get("usage"), dict):
                yield wire.usage(chunk["usage"])
            for choice in found:
                delta = choice.get("delta") or {}
                audio = delta.get("audio")
                if not isinstance(audio, dict):
                    audio = {}
                if (thought := wire.reasoning(delta)) and request.text:
                    yield ReasoningDelta(thought)
                if audio.get("data") and request.speech:
                    yield AudioDelta(wire.decode_base64(audio["data"]), SPEECH_RATE)
                text = delta.get("content") or audio.get("transcript")
                if text and request.text:
                    yield TextDelta(text)


def split_media(conversation: Sequence[Message]) -> list[Message]:
    """Each user message cut so that it carries at most one kind of media."""
    result: list[Message] = []
    for message in conversation:
        if message.role != "user":
            result.append(message)
            continue
        current: list[Part] = []
        kind: type | None = None
        for part in message.parts:
            if isinstance(part, ImagePart | AudioPart):
                if kind is not None and kind is not type(part):
                    result.append(Message("user", current))
                    current = []
                kind = type(part)
            elif kind is not None and _starts_source(part):
                result.append(Message("user", current))
                current, kind = [], None
            current.append(part)
        if current:
            result.append(Message("user", current))
    return result


def fold_system(conversation: Sequence[Message]) -> list[Message]:
    """The system prompt moved to the start of the first user message."""
    system = [p for m in conversation if m.role == "system" for p in m.parts]
    rest = [m for m in conversation if m.role != "system"]
    for index, message in enumerate(rest):
        if message.role == "user":
            rest[index] = Message("user", [*system, *message.parts])
            break
    return rest


def _starts_source(part: Part) -> bool:
    return isinstance(part, TextPart) and part.text.startswith(("[", "Question:"))
