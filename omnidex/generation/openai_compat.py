"""Any OpenAI-compatible server — e.g. plain vLLM serving Qwen3-Omni's thinker.

For answers, pictures and sound are left out of the request; their sources
still go in as words (OCR text, transcripts), so the model can cite them. As a
captioner (``sees``), it gets the pictures and sound themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from omnidex.generation import wire
from omnidex.generation.base import Delta, GenerationRequest, ReasoningDelta, TextDelta
from omnidex.generation.vllm_omni import DEFAULT_MODEL


class OpenAICompatible(wire.HttpBackend):
    name = "openai"
    speaks = False
    sees = False

    default_model = DEFAULT_MODEL

    def __init__(self, client: wire.ChatClient, model: str | None = None, *, sees: bool = False) -> None:
        """``sees``: send pictures and sound too (a vision or audio model, e.g. as the captioner)."""
        super().__init__(client, model)
        self.sees = sees

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        return wire.chat_body(self.model, wire.messages(request.messages, media=self.sees), request)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        async for chunk in self.client.stream(self.body(request)):
            found = wire.choices(chunk)
            if not found and isinstance(chunk.get("usage"), dict):
                yield wire.usage(chunk["usage"])
            for choice in found:
                delta = choice.get("delta") or {}
                if thought := wire.reasoning(delta):
                    yield ReasoningDelta(thought)
                if piece := delta.get("content"):
                    yield TextDelta(piece)
