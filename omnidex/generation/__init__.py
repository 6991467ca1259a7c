"""Qwen3-Omni backends: vLLM-Omni, DashScope, any OpenAI-compatible server, local transformers.

A service: one ``Generator`` seam and a factory; what to ask them is ``omnidex.answering``'s.
Imports only the floor.
"""

from __future__ import annotations

from pydantic import SecretStr

from omnidex.config import Settings
from omnidex.errors import ConfigError
from omnidex.generation.base import Budget, Generator
from omnidex.generation.captions import Captioner
from omnidex.generation.wire import ChatClient

DASHSCOPE_URL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"

__all__ = [
    "Budget",
    "Captioner",
    "Generator",
    "make_budget",
    "make_captioner",
    "make_generator",
    "make_reasoner",
]


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
    return _http_backend(
        settings, kind, settings.generator_url, settings.generator_api_key, settings.generator_model
    )


def make_reasoner(settings: Settings) -> Generator | None:
    """The model for think mode, or None when there is none: OMNIDEX_REASONING_MODEL served like
    the generator (at OMNIDEX_REASONING_URL, by default the generator's), or on DashScope the
    generator's own model, which reasons when asked."""
    kind = settings.generator
    if kind in ("none", "transformers") or (kind != "dashscope" and not settings.reasoning_model):
        return None
    return _http_backend(
        settings,
        kind,
        settings.reasoning_url or settings.generator_url,
        settings.reasoning_api_key or settings.generator_api_key,
        settings.reasoning_model or settings.generator_model,
    )


def make_captioner(settings: Settings) -> Captioner | None:
    """Who describes pictures and sounds at ingest (OMNIDEX_CAPTIONER), or None."""
    kind = settings.captioner
    if kind == "none":
        return None
    url = settings.captioner_url or (settings.generator_url if settings.generator == kind else None)
    key = settings.captioner_api_key or settings.generator_api_key

    def backend() -> Generator:
        return _http_backend(settings, kind, url, key, settings.captioner_model, sees=True)

    return Captioner(
        backend, concurrency=settings.caption_concurrency, max_tokens=settings.caption_max_tokens
    )


def _http_backend(
    settings: Settings,
    kind: str,
    url: str | None,
    api_key: SecretStr | None,
    model: str | None,
    *,
    sees: bool = False,
) -> Generator:
    url = url or (DASHSCOPE_URL if kind == "dashscope" else None)
    if not url:
        setting = "OMNIDEX_CAPTIONER_URL" if sees else "OMNIDEX_GENERATOR_URL"
        raise ConfigError(f"the {kind} backend needs {setting} (its base URL, ending in /v1)")
    client = ChatClient(
        url,
        api_key.get_secret_value() if api_key else None,
        connect_timeout=settings.generator_connect_timeout,
        read_timeout=settings.generator_read_timeout,
        total_timeout=settings.generator_timeout,
        retries=settings.generator_retries,
    )
    if kind == "vllm-omni":
        from omnidex.generation.vllm_omni import VllmOmni

        return VllmOmni(client, model, settings.generator_voice)
    if kind == "dashscope":
        from omnidex.generation.dashscope import DashScope

        return DashScope(client, model, settings.generator_voice)
    from omnidex.generation.openai_compat import OpenAICompatible

    return OpenAICompatible(client, model, sees=sees)


def make_budget(settings: Settings) -> Budget:
    return Budget(
        max_tokens=settings.context_max_tokens,
        max_images=settings.context_max_images,
        max_audio_seconds=settings.context_max_audio_seconds,
        max_video_clips=settings.context_max_video_clips,
        image_side=settings.context_image_side,
        moment_seconds=settings.clip_seconds,
    )
