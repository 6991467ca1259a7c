"""Encoder interfaces: small protocols the pipeline and retriever depend on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PIL import Image

from omnidex.types import SparseVector


class TextEncoder(Protocol):
    """Dense text embeddings, L2-normalised, for the ``text`` vector."""

    name: str
    version: str
    dim: int

    def encode(self, texts: Sequence[str]) -> list[list[float]]: ...


class ImageEncoder(Protocol):
    """CLIP-style joint embeddings: images, and texts into the same space, for the ``image`` vector."""

    name: str
    version: str
    dim: int

    def encode_images(self, images: Sequence[Image.Image]) -> list[list[float]]: ...
    def encode_texts(self, texts: Sequence[str]) -> list[list[float]]: ...


class SparseEncoder(Protocol):
    """Sparse term weights for the ``sparse`` vector (IDF is applied by Qdrant)."""

    name: str
    version: str

    def encode_documents(self, texts: Sequence[str]) -> list[SparseVector]: ...
    def encode_query(self, text: str) -> SparseVector: ...
