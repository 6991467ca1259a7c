"""EdgeStore: the embedded default, a Qdrant Edge shard in-process under the data dir.

Qdrant Edge locks its folder, so one process owns it (DESIGN.md). Its HNSW
index is built by ``optimize()``, which blocks: the runtime calls it from a
background thread once enough new points have arrived, never on a request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from omnidex.errors import ConfigError, DataDirLocked, MissingExtra
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
    import qdrant_edge as qe
except ImportError as exc:  # pragma: no cover - a base dependency
    raise MissingExtra("qdrant-edge-py", "server") from exc


class EdgeStore:
    """A single Qdrant Edge shard; safe to share between threads."""

    def __init__(self, path: Path, schema: Schema) -> None:
        self.path = path
        self.schema = schema
        self._write_lock = threading.Lock()
        try:
            if (path / "edge_config.json").exists() or (path.exists() and any(path.iterdir())):
                self._shard = qe.EdgeShard.load(str(path))
                self._check_schema()
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._shard = qe.EdgeShard.create(str(path), _edge_config(schema))
                for name in INDEXED_FIELDS:
                    params = qe.KeywordIndexParams(is_tenant=True) if name == "tenant" else None
                    self._shard.update(
                        qe.UpdateOperation.create_field_index(name, params or qe.PayloadSchemaType.Keyword)
                    )
        except Exception as exc:  # the binding raises plain Exceptions
            if "WouldBlock" in str(exc) or "already" in str(exc).lower():
                raise DataDirLocked(f"the vector index at {path} is in use by another process") from exc
            raise

    def _check_schema(self) -> None:
        vectors = self._shard_config_vectors()
        want = {TEXT_VECTOR: self.schema.text_dim, IMAGE_VECTOR: self.schema.image_dim}
        for name, size in want.items():
            if name in vectors and vectors[name] != size:
                raise ConfigError(
                    f"the index at {self.path} stores {vectors[name]}-d {name!r} vectors but the "
                    f"configured model gives {size}-d: use another data dir or re-index"
                )

    def _shard_config_vectors(self) -> dict[str, int]:
        import json

        config_file = self.path / "edge_config.json"
        if not config_file.exists():
            return {}
        raw = json.loads(config_file.read_text())
        return {name: int(spec.get("size", 0)) for name, spec in raw.get("vectors", {}).items()}

    def upsert(self, points: Sequence[Point]) -> None:
        if not points:
            return
        edge_points = [qe.Point(p.id, _edge_vector(p), p.payload) for p in points]
        with self._write_lock:
            self._shard.update(qe.UpdateOperation.upsert_points(edge_points))

    def delete_document(self, tenant: str, doc_id: str) -> None:
        flt = qe.Filter(must=[_match("tenant", tenant), _match("doc_id", doc_id)])
        with self._write_lock:
            self._shard.update(qe.UpdateOperation.delete_points_by_filter(flt))

    def query(self, query: HybridQuery) -> list[ScoredPoint]:
        flt = _edge_filter(query.filter)
        params = qe.SearchParams(exact=True) if query.exact else None
        prefetches = [
            qe.Prefetch(
                query.prefetch_limit, query=qe.Query.Nearest(vector, using=name), filter=flt, params=params
            )
            for name, vector in query.dense.items()
        ]
        prefetches += [
            qe.Prefetch(
                query.prefetch_limit,
                query=qe.Query.Nearest(qe.SparseVector(vector.indices, vector.values), using=name),
                filter=flt,
            )
            for name, vector in query.sparse.items()
            if vector.indices
        ]
        if not prefetches:
            return []
        request = qe.QueryRequest(
            limit=query.limit,
            prefetches=prefetches,
            query=cast(Any, qe.Fusion.Rrf(k=RRF_K)),
            filter=flt,
            with_payload=True,
        )
        return [
            ScoredPoint(str(hit.id), float(hit.score), dict(hit.payload or {}))
            for hit in self._shard.query(request)
        ]

    def search(self, query: HybridQuery) -> dict[str, list[ScoredPoint]]:
        flt = _edge_filter(query.filter)
        params = qe.SearchParams(exact=True) if query.exact else None
        searches: dict[str, Any] = {name: vector for name, vector in query.dense.items()}
        searches |= {
            name: qe.SparseVector(vector.indices, vector.values)
            for name, vector in query.sparse.items()
            if vector.indices
        }
        lists = {}
        for name, vector in searches.items():
            request = qe.QueryRequest(
                limit=query.prefetch_limit,
                query=qe.Query.Nearest(vector, using=name),
                filter=flt,
                with_payload=True,
                params=params,
            )
            lists[name] = [
                ScoredPoint(str(hit.id), float(hit.score), dict(hit.payload or {}))
                for hit in self._shard.query(request)
            ]
        return lists

    def count(self, tenant: str | None = None, doc_id: str | None = None) -> int:
        must = [_match(key, value) for key, value in (("tenant", tenant), ("doc_id", doc_id)) if value]
        flt = qe.Filter(must=must) if must else None
        return int(self._shard.count(qe.CountRequest(filter=flt, exact=True)))

    def optimize(self) -> None:
        with self._write_lock:
            self._shard.optimize()

    def close(self) -> None:
        with self._write_lock:
            self._shard.flush()
            self._shard.close()


def _edge_config(schema: Schema) -> Any:
    return qe.EdgeConfig(
        vectors={
            TEXT_VECTOR: qe.EdgeVectorParams(schema.text_dim, qe.Distance.Cosine),
            IMAGE_VECTOR: qe.EdgeVectorParams(schema.image_dim, qe.Distance.Cosine),
        },
        sparse_vectors={SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
    )


def _edge_vector(point: Point) -> dict[str, Any]:
    vector: dict[str, Any] = dict(point.vectors)
    for name, sparse in point.sparse.items():
        vector[name] = qe.SparseVector(sparse.indices, sparse.values)
    return vector


def _match(key: str, value: str) -> Any:
    return qe.FieldCondition(key, match=qe.MatchValue(value))


def _edge_filter(flt: QueryFilter) -> Any:
    must: list[Any] = [_match("tenant", flt.tenant)]
    if flt.doc_ids:
        must.append(qe.FieldCondition("doc_id", match=qe.MatchAny(list(flt.doc_ids))))
    if flt.modalities:
        must.append(qe.FieldCondition("modality", match=qe.MatchAny(list(flt.modalities))))
    return qe.Filter(must=must)
