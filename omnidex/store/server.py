"""ServerStore: a Qdrant server or cluster through qdrant-client.

In tests ``location=":memory:"`` stands in for a server: qdrant-client's local
mode implements the server's API semantics, and the congruence suite checks
that both stores answer alike.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from omnidex.errors import ConfigError, MissingExtra, Unavailable
from omnidex.store.base import (
    IMAGE_VECTOR,
    INDEXED_FIELDS,
    RRF_K,
    SPARSE_VECTOR,
    TEXT_VECTOR,
    HybridQuery,
    QueryFilter,
    Schema,
)
from omnidex.types import Point, ScoredPoint

try:
    from qdrant_client import QdrantClient, models
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse
except ImportError as exc:  # pragma: no cover - a base dependency
    raise MissingExtra("qdrant-client", "base") from exc


class ServerStore:
    """One collection on a Qdrant server, created on first use."""

    def __init__(
        self,
        schema: Schema,
        *,
        url: str | None = None,
        api_key: str | None = None,
        location: str | None = None,
        collection: str = "omnidex",
        timeout: float = 30.0,
    ) -> None:
        self.schema = schema
        self.collection = collection
        if location is not None:
            self._client = QdrantClient(location=location)
        else:
            self._client = QdrantClient(url=url, api_key=api_key, timeout=int(timeout))
        try:
            self._ensure_collection()
        except (ResponseHandlingException, UnexpectedResponse) as exc:
            raise Unavailable(f"cannot reach Qdrant at {url}: {exc}") from exc

    def _ensure_collection(self) -> None:
        if self._client.collection_exists(self.collection):
            self._check_schema()
            return
        self._client.create_collection(
            self.collection,
            vectors_config={
                TEXT_VECTOR: models.VectorParams(size=self.schema.text_dim, distance=models.Distance.COSINE),
                IMAGE_VECTOR: models.VectorParams(
                    size=self.schema.image_dim, distance=models.Distance.COSINE
                ),
            },
            sparse_vectors_config={SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        with warnings.catch_warnings():
            # Local mode says payload indexes do nothing there; a server builds them.
            warnings.simplefilter("ignore", UserWarning)
            for name in INDEXED_FIELDS:
                schema: Any = (
                    models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
                    if name == "tenant"
                    else models.PayloadSchemaType.KEYWORD
                )
                self._client.create_payload_index(self.collection, name, field_schema=schema)

    def _check_schema(self) -> None:
        info = self._client.get_collection(self.collection)
        vectors = info.config.params.vectors
        if not isinstance(vectors, dict):
            return
        for name, size in ((TEXT_VECTOR, self.schema.text_dim), (IMAGE_VECTOR, self.schema.image_dim)):
            if name in vectors and vectors[name].size != size:
                raise ConfigError(
                    f"collection {self.collection!r} stores {vectors[name].size}-d {name!r} vectors "
                    f"but the configured model gives {size}-d"
                )

    def upsert(self, points: Sequence[Point]) -> None:
        if not points:
            return
        structs = [models.PointStruct(id=p.id, vector=_client_vector(p), payload=p.payload) for p in points]
        self._client.upsert(self.collection, points=structs, wait=True)

    def delete_document(self, tenant: str, doc_id: str) -> None:
        flt = models.Filter(must=[_match("tenant", tenant), _match("doc_id", doc_id)])
        self._client.delete(self.collection, points_selector=models.FilterSelector(filter=flt), wait=True)

    def query(self, query: HybridQuery) -> list[ScoredPoint]:
        flt = _client_filter(query.filter)
        params = models.SearchParams(exact=True) if query.exact else None
        prefetch = [
            models.Prefetch(query=vector, using=name, limit=query.prefetch_limit, filter=flt, params=params)
            for name, vector in query.dense.items()
        ]
        prefetch += [
            models.Prefetch(
                query=models.SparseVector(indices=vector.indices, values=vector.values),
                using=name,
                limit=query.prefetch_limit,
                filter=flt,
            )
            for name, vector in query.sparse.items()
            if vector.indices
        ]
        if not prefetch:
            return []
        response = self._client.query_points(
            self.collection,
            prefetch=prefetch,
            query=models.RrfQuery(rrf=models.Rrf(k=RRF_K)),
            query_filter=flt,
            limit=query.limit,
            with_payload=True,
        )
        return [ScoredPoint(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]

    def count(self, tenant: str | None = None) -> int:
        flt = models.Filter(must=[_match("tenant", tenant)]) if tenant else None
        return int(self._client.count(self.collection, count_filter=flt, exact=True).count)

    def optimize(self) -> None:
        """A server optimises its segments by itself."""

    def close(self) -> None:
        self._client.close()


def _client_vector(point: Point) -> dict[str, Any]:
    vector: dict[str, Any] = dict(point.vectors)
    for name, sparse in point.sparse.items():
        vector[name] = models.SparseVector(indices=sparse.indices, values=sparse.values)
    return vector


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _client_filter(flt: QueryFilter) -> models.Filter:
    must: list[Any] = [_match("tenant", flt.tenant)]
    if flt.doc_ids:
        must.append(models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(flt.doc_ids))))
    if flt.modalities:
        must.append(models.FieldCondition(key="modality", match=models.MatchAny(any=list(flt.modalities))))
    return models.Filter(must=must)
