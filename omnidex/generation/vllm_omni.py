"""Qwen3-Omni served by vLLM-Omni: text and speech in one stream, told apart by ``modality``.

Each audio chunk is a whole WAV file of the newest stretch of speech, riding
in ``delta.content``; they are decoded one by one, never joined as base64.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from omnidex.generation import wire
from omnidex.generation.base import AudioDelta, Delta, GenerationRequest, ReasoningDelta, TextDelta

DEFAULT_MODEL = "Qwen/Qwen3-Omni-30B-A3B-Instruct"
DEFAULT_VOICE = "ethan"


class VllmOmni(wire.HttpBackend):
    name = "vllm-omni"
    speaks = True
    sees = True

    default_model = DEFAULT_MODEL
    default_voice = DEFAULT_VOICE

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        body = wire.chat_body(self.model, wire.messages(request.messages), request)
        body["modalities"] = (["text"] if request.text else []) + (["audio"] if request.speech else [])
        if request.speech:
            body["speaker"] = (request.voice or self.voice).lower()
            body["audio"] = {"format": "wav"}
        if request.language:
            body["language"] = request.language
        return body

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        async for chunk in self.client.stream(self.body(request)):
            modality = chunk.get("modality", "text")
            found = wire.choices(chunk)
            if not found and isinstance(chunk.get("usage"), dict):
                yield wire.usage(chunk["usage"])
            for choice in found:
                delta = choice.get("delta") or {}
                if (thought := wire.reasoning(delta)) and request.text:
                    yield ReasoningDelta(thought)
                piece = delta.get("content")
                if not piece:
                    continue
                # Relay only what was asked for: a server may send the text of a speech-only
                # request too, and the written answer would then arrive twice.
                if modality == "audio" and request.speech:
                    pcm, rate = wire.wav_frames(wire.decode_base64(piece))
                    yield AudioDelta(pcm, rate)
                elif modality == "text" and request.text:
                    yield TextDelta(piece)
