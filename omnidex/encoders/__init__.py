"""Encoders: one small interface per kind of vector (and speech recognition), built from Settings.

``base`` holds the text, sparse and image interfaces, ``asr`` the ``Transcriber``
one; each other module is one implementation. Imports only the floor.
"""

from __future__ import annotations

from omnidex.config import Settings
from omnidex.encoders.asr import Transcriber
from omnidex.encoders.base import ImageEncoder, SparseEncoder, TextEncoder
from omnidex.encoders.clip import ClipUnavailable
from omnidex.encoders.rerank import Reranker
from omnidex.errors import ConfigError


def make_text_encoder(settings: Settings) -> TextEncoder:
    if settings.text_backend != "torch":
        from omnidex.encoders.onnx_text import OnnxTextEncoder

        return OnnxTextEncoder(
            settings.text_model,
            settings.data_dir / "models",
            quantized=settings.text_backend == "onnx-int8",
            batch_size=settings.text_batch_size,
            allow_downloads=settings.allow_downloads,
            dim=settings.text_dim,
        )
    from omnidex.encoders.text import SentenceTransformerEncoder

    return SentenceTransformerEncoder(
        settings.text_model,
        device=settings.device,
        batch_size=settings.text_batch_size,
        allow_downloads=settings.allow_downloads,
        dim=settings.text_dim,
    )


def make_sparse_encoder(settings: Settings) -> SparseEncoder:
    from omnidex.encoders.sparse import Bm25Encoder

    return Bm25Encoder(language=settings.bm25_language)


def make_image_encoder(settings: Settings) -> ImageEncoder | ClipUnavailable:
    """The CLIP encoder, or why visual search is off (never an error: the service runs without it)."""
    if not settings.visual_search:
        return ClipUnavailable("visual search is turned off (OMNIDEX_VISUAL_SEARCH=false)")
    from omnidex.encoders.clip import load_clip

    return load_clip(
        settings.clip_model,
        settings.clip_pretrained,
        config_file=settings.clip_config,
        allow_downloads=settings.allow_downloads,
        device=settings.device,
    )


def make_reranker(settings: Settings) -> Reranker | None:
    """The reranker, or None when reranking is off (the default)."""
    if settings.reranker == "none":
        return None
    from omnidex.encoders.rerank import CrossEncoderReranker, HttpReranker

    if settings.reranker == "local":
        return CrossEncoderReranker(
            settings.reranker_model, device=settings.device, allow_downloads=settings.allow_downloads
        )
    if not settings.reranker_url:
        raise ConfigError("OMNIDEX_RERANKER=http needs OMNIDEX_RERANKER_URL, the rerank endpoint")
    key = settings.reranker_api_key.get_secret_value() if settings.reranker_api_key else None
    return HttpReranker(
        settings.reranker_url, settings.reranker_model, api_key=key, timeout=settings.reranker_timeout
    )


def make_transcriber(settings: Settings) -> Transcriber | None:
    """The speech recognizer, or None when speech is turned off."""
    if not settings.speech:
        return None
    if settings.asr == "openai":
        from omnidex.encoders.remote_asr import RemoteTranscriber

        if not settings.asr_url:
            raise ConfigError(
                "OMNIDEX_ASR=openai needs OMNIDEX_ASR_URL (the server's base URL ending in /v1)"
            )
        key = settings.asr_api_key.get_secret_value() if settings.asr_api_key else None
        return RemoteTranscriber(
            settings.asr_url,
            settings.asr_server_model,
            api_key=key,
            concurrency=settings.asr_concurrency,
            timeout=settings.asr_timeout,
        )
    from omnidex.encoders.whisper import WhisperTranscriber

    return WhisperTranscriber(
        settings.asr_model,
        device="cuda" if settings.device.startswith("cuda") else "cpu",
        compute_type=settings.asr_compute_type,
        cpu_threads=settings.asr_threads,
        allow_downloads=settings.allow_downloads,
    )


__all__ = [
    "ClipUnavailable",
    "ImageEncoder",
    "Reranker",
    "SparseEncoder",
    "TextEncoder",
    "Transcriber",
    "make_image_encoder",
    "make_reranker",
    "make_sparse_encoder",
    "make_text_encoder",
    "make_transcriber",
]
