"""Qwen3-Omni backends: vLLM-Omni, DashScope, any OpenAI-compatible server, local transformers.

A service: one ``Generator`` seam and a factory; what to ask them is ``omnidex.answering``'s.
Imports only the floor.
"""

from __future__ import annotations

from omnidex.config import Settings
from omnidex.errors import ConfigError
from omnidex.generation.base import Budget, Generator
from omnidex.generation.wire import ChatClient

DASHSCOPE_URL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"

__all__ = ["Budget", "Generator", "make_budget", "make_generator"]


def make_generator(settings: Settings) -> Generator | None:
    """The configured backend, or None when answers are turned off."""
    kind = settings.generator
    if kind == "none":
        return None
    if kind == "transformers":
        from omnidex.generation.local import LocalQwenOmni

        if not settings.generator_model:
            raise ConfigError("the transformers backend needs OMNIDEX_GENERATOR_MODEL (a checkpoint)")
        return LocalQwenOmni(
            settings.generator_model,
            device=settings.device,
            voice=settings.generator_voice,
            allow_downloads=settings.allow_downloads,
            talker_max_new_tokens=settings.generator_max_speech_tokens,
        )
    url = settings.generator_url or (DASHSCOPE_URL if kind == "dashscope" else None)
    if not url:
        raise ConfigError(f"the {kind} backend needs OMNIDEX_GENERATOR_URL (its base URL, ending in /v1)")
    key = settings.generator_api_key.get_secret_value() if settings.generator_api_key else None
    client = ChatClient(
        url,
        key,
        connect_timeout=settings.generator_connect_timeout,
        read_timeout=settings.generator_read_timeout,
        total_timeout=settings.generator_timeout,
        retries=settings.generator_retries,
    )
    if kind == "vllm-omni":
        from omnidex.generation.vllm_omni import VllmOmni

        return VllmOmni(client, settings.generator_model, settings.generator_voice)
    if kind == "dashscope":
        from omnidex.generation.dashscope import DashScope

        return DashScope(client, settings.generator_model, settings.generator_voice)
    from omnidex.generation.openai_compat import OpenAICompatible

    return OpenAICompatible(client, settings.generator_model)


def make_budget(settings: Settings) -> Budget:
    return Budget(
        max_tokens=settings.context_max_tokens,
        max_images=settings.context_max_images,
        max_audio_seconds=settings.context_max_audio_seconds,
        max_video_clips=settings.context_max_video_clips,
        image_side=settings.context_image_side,
        moment_seconds=settings.clip_seconds,
    )
