"""Sparse BM25 term weights from Qdrant's own BM25 model (qdrant-edge's ``Bm25``).

It tokenises, drops stopwords and stems the way a Qdrant server's built-in
BM25 inference does, and weights terms by saturated term frequency; the
collection's IDF modifier supplies the inverse document frequency at query
time, so the index needs no corpus statistics of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from omnidex.errors import ConfigError, MissingExtra
from omnidex.types import SparseVector


class Bm25Encoder:
    name = "qdrant-bm25"

    def __init__(
        self, language: str = "english", k: float = 1.2, b: float = 0.75, avg_len: float = 256.0
    ) -> None:
        try:
            import qdrant_edge as qe
        except ImportError as exc:  # pragma: no cover - a base dependency
            raise MissingExtra("qdrant-edge-py", "server") from exc
        try:
            self._model = qe.Bm25(qe.Bm25Config(k=k, b=b, avg_len=avg_len, language=language))
        except ValueError as exc:
            raise ConfigError(f"invalid BM25 settings: {exc}") from exc
        self.version = f"{language}-k{k}-b{b}-avg{avg_len:g}"

    def encode_documents(self, texts: Sequence[str]) -> list[SparseVector]:
        return [_convert(self._model.embed_document(text)) for text in texts]

    def encode_query(self, text: str) -> SparseVector:
        return _convert(self._model.embed_query(text))


def _convert(vector: object) -> SparseVector:
    return SparseVector(list(vector.indices), list(vector.values))  # type: ignore[attr-defined]
