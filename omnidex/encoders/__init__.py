"""Encoders: one small interface per kind of vector (and speech recognition), built from Settings.

``base`` holds the text, sparse and image interfaces, ``asr`` the ``Transcriber``
one; each other module is one implementation. Imports only the floor.
"""

from __future__ import annotations

from omnidex.config import Settings
from omnidex.encoders.asr import Transcriber
from omnidex.encoders.base import ImageEncoder, SparseEncoder, TextEncoder
from omnidex.encoders.clip import ClipUnavailable


def make_text_encoder(settings: Settings) -> TextEncoder:
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


def make_transcriber(settings: Settings) -> Transcriber | None:
    """The speech recognizer, or None when speech is turned off."""
    if not settings.speech:
        return None
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
    "SparseEncoder",
    "TextEncoder",
    "Transcriber",
    "make_image_encoder",
    "make_sparse_encoder",
    "make_text_encoder",
    "make_transcriber",
]
