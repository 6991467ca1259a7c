"""Encoders: one small interface per kind of vector, built from Settings."""

from __future__ import annotations

from omnidex.config import Settings
from omnidex.encoders.base import SparseEncoder, TextEncoder


def make_text_encoder(settings: Settings) -> TextEncoder:
    from omnidex.encoders.text import SentenceTransformerEncoder

    return SentenceTransformerEncoder(
        settings.text_model,
        device=settings.device,
        batch_size=settings.text_batch_size,
        allow_downloads=settings.allow_downloads,
    )


def make_sparse_encoder(settings: Settings) -> SparseEncoder:
    from omnidex.encoders.sparse import Bm25Encoder

    return Bm25Encoder(language=settings.bm25_language)


__all__ = ["SparseEncoder", "TextEncoder", "make_sparse_encoder", "make_text_encoder"]
