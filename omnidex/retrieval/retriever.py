"""Query → vectors per space → one hybrid Qdrant query (prefetch + RRF) → hits."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from omnidex.encoders import SparseEncoder, TextEncoder
from omnidex.errors import InvalidRequest
from omnidex.store import HybridQuery, QueryFilter, VectorStore
from omnidex.store.base import SPARSE_VECTOR, TEXT_VECTOR
from omnidex.types import Hit, ItemKind, Modality, ScoredPoint

MAX_TOP_K = 100


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)


class Retriever:
    """Hybrid search over every vector space a query can be encoded into."""

    def __init__(
        self,
        store: VectorStore,
        text_encoder: TextEncoder,
        sparse_encoder: SparseEncoder,
        *,
        prefetch_factor: int = 4,
        min_prefetch: int = 40,
    ) -> None:
        self.store = store
        self.text_encoder = text_encoder
        self.sparse_encoder = sparse_encoder
        self.prefetch_factor = prefetch_factor
        self.min_prefetch = min_prefetch

    def search(
        self,
        tenant: str,
        query: str,
        *,
        top_k: int = 10,
        modalities: Sequence[str] = (),
        doc_ids: Sequence[str] = (),
    ) -> SearchResult:
        """The ``top_k`` best items of ``tenant`` for a text query; raises InvalidRequest."""
        query = query.strip()
        if not query:
            raise InvalidRequest("the query is empty")
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidRequest(f"top_k must be between 1 and {MAX_TOP_K}")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        dense = self.text_encoder.encode([query])[0]
        sparse = self.sparse_encoder.encode_query(query)
        timings["encode"] = _ms_since(started)
        request = HybridQuery(
            filter=QueryFilter(tenant=tenant, doc_ids=tuple(doc_ids), modalities=tuple(modalities)),
            limit=top_k,
            prefetch_limit=max(self.min_prefetch, top_k * self.prefetch_factor),
            dense={TEXT_VECTOR: dense},
            sparse={SPARSE_VECTOR: sparse},
        )
        started = time.perf_counter()
        points = self.store.query(request)
        timings["query"] = _ms_since(started)
        return SearchResult([to_hit(p) for p in points], timings)


def to_hit(point: ScoredPoint) -> Hit:
    payload = point.payload
    doc_id = str(payload.get("doc_id", ""))
    page = payload.get("page")
    return Hit(
        id=point.id,
        score=point.score,
        modality=Modality(payload.get("modality", Modality.TEXT)),
        kind=ItemKind(payload.get("kind", ItemKind.CHUNK)),
        doc_id=doc_id,
        source=str(payload.get("source", "")),
        page=page,
        start=payload.get("start"),
        end=payload.get("end"),
        text=str(payload.get("text", "")),
        media_url=source_url(doc_id, str(payload.get("mime", "")), page),
    )


def source_url(doc_id: str, mime: str, page: int | None) -> str:
    """Where a person can open the hit: the original file, at its page when a viewer can jump there."""
    url = f"/v1/documents/{doc_id}/file"
    if mime == "application/pdf" and page:
        url += f"#page={page}"
    return url


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
