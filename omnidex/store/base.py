"""The vector-store seam: one collection, named vectors, hybrid queries (fused in the engine, or
one ranked list per vector for fusion outside it).

Every point carries only the vectors that apply to its item (DESIGN.md, "The
Qdrant point"); the payload holds ``tenant``, ``doc_id`` and ``modality``,
each with a payload index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from omnidex.types import Point, ScoredPoint, SparseVector

TEXT_VECTOR = "text"
IMAGE_VECTOR = "image"
SPARSE_VECTOR = "sparse"
# A payload field, not a vector space: a speech item's sentences, one packed text vector each.
SENTENCE_VECTORS = "sentence_vectors"
# ViT-B-32's embedding width: the default CLIP model's, fixed when the store is created.
DEFAULT_IMAGE_DIM = 512
INDEXED_FIELDS = ("tenant", "doc_id", "modality")
RRF_K = 60


@dataclass(frozen=True, slots=True)
class Schema:
    text_dim: int
    image_dim: int = DEFAULT_IMAGE_DIM


@dataclass(frozen=True, slots=True)
class QueryFilter:
    tenant: str
    doc_ids: Sequence[str] = ()
    modalities: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class HybridQuery:
    """One prefetch per given vector, fused with RRF, under one filter."""

    filter: QueryFilter
    limit: int = 10
    prefetch_limit: int = 50
    dense: dict[str, list[float]] = field(default_factory=dict)
    sparse: dict[str, SparseVector] = field(default_factory=dict)
    exact: bool = False


class VectorStore(Protocol):
    def upsert(self, points: Sequence[Point]) -> None: ...
    def delete_document(self, tenant: str, doc_id: str) -> None: ...
    def query(self, query: HybridQuery) -> list[ScoredPoint]:
        """The best points over every given vector, fused in the engine by RRF."""
        ...

    def search(self, query: HybridQuery) -> dict[str, list[ScoredPoint]]:
        """Each given vector's own ``prefetch_limit`` nearest points, best first, with their
        scores and payloads: for fusion outside the engine."""
        ...

    def count(self, tenant: str | None = None, doc_id: str | None = None) -> int: ...
    def optimize(self) -> None: ...
    def close(self) -> None: ...
