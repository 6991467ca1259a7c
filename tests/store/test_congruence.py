"""The same upserts, deletes and hybrid queries on both stores must give the same answers.

EdgeStore is the embedded engine; ServerStore on qdrant-client's ``:memory:``
mode stands in for a Qdrant server, once directly and once over HTTP through
the stand-in server of ``tests/qdrant_fake.py`` (the REST wire path). Searches are exact so that HNSW's
approximation cannot make the two differ.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnidex.encoders.sparse import Bm25Encoder
from omnidex.store.base import HybridQuery, QueryFilter, Schema, VectorStore
from omnidex.store.edge import EdgeStore
from omnidex.store.server import ServerStore
from omnidex.types import Point, point_id

DIM = 16
WORDS = "lion zebra owl harbour lantern keeper meadow river stone ember violet copper signal".split()


def _points(count: int, seed: int, sparse: Bm25Encoder) -> list[Point]:
    rng = random.Random(seed)
    points = []
    for n in range(count):
        tenant = "t1" if n % 3 else "t2"
        doc_id = f"doc{n % 7}"
        # A length of its own for every text: BM25 scores then never tie, and
        # tie order is the one thing the engines may legitimately differ in.
        text = " ".join(rng.choices(WORDS, k=3 + n + seed))
        points.append(
            Point(
                id=point_id(doc_id, f"chunk-{n}"),
                vectors={"text": [rng.uniform(-1, 1) for _ in range(DIM)]},
                sparse={"sparse": sparse.encode_documents([text])[0]},
                payload={
                    "tenant": tenant,
                    "doc_id": doc_id,
                    "modality": "text" if n % 5 else "image",
                    "text": text,
                },
            )
        )
    return points


@pytest.fixture(params=["memory", "http"])
def stores(
    request: pytest.FixtureRequest, tmp_path: Path, sparse_encoder: Bm25Encoder
) -> Iterator[list[VectorStore]]:
    schema = Schema(text_dim=DIM, image_dim=8)
    edge = EdgeStore(tmp_path / "edge", schema)
    if request.param == "memory":
        server = ServerStore(schema, location=":memory:")
    else:
        server = ServerStore(schema, url=request.getfixturevalue("qdrant_server").url)
    for store in (edge, server):
        store.upsert(_points(300, seed=1, sparse=sparse_encoder))
    yield [edge, server]
    edge.close()
    server.close()


def _queries(sparse: Bm25Encoder) -> list[HybridQuery]:
    rng = random.Random(7)
    queries = []
    for n in range(12):
        words = " ".join(rng.choices(WORDS, k=2))
        flt = QueryFilter(
            tenant="t1" if n % 2 else "t2",
            doc_ids=("doc1", "doc2", "doc4") if n % 4 == 1 else (),
            modalities=("text",) if n % 3 == 2 else (),
        )
        dense = {"text": [rng.uniform(-1, 1) for _ in range(DIM)]}
        sparse_vector = {"sparse": sparse.encode_query(words)}
        shape = n % 3
        queries.append(
            HybridQuery(
                filter=flt,
                limit=10,
                prefetch_limit=30,
                dense=dense if shape != 1 else {},
                sparse=sparse_vector if shape != 0 else {},
                exact=True,
            )
        )
    return queries


def _answers(store: VectorStore, query: HybridQuery) -> list[tuple[float, str]]:
    """Hits as (score, id), ties put in id order; ties at the cut-off may differ, so they go."""
    hits = sorted((-round(hit.score, 5), hit.id) for hit in store.query(query))
    if len(hits) == query.limit:
        hits = [hit for hit in hits if hit[0] != hits[-1][0]]
    return hits


def test_counts_agree(stores: list[VectorStore]) -> None:
    edge, server = stores
    for tenant in (None, "t1", "t2", "nobody"):
        assert edge.count(tenant) == server.count(tenant)
    assert edge.count() == 300


def test_hybrid_queries_agree(stores: list[VectorStore], sparse_encoder: Bm25Encoder) -> None:
    edge, server = stores
    for query in _queries(sparse_encoder):
        edge_hits, server_hits = _answers(edge, query), _answers(server, query)
        assert edge_hits, query
        assert edge_hits == server_hits, query
        assert all(hit.payload["tenant"] == query.filter.tenant for hit in edge.query(query))


def test_deletes_agree(stores: list[VectorStore], sparse_encoder: Bm25Encoder) -> None:
    """After deletes, dense answers agree exactly and neither store returns a deleted point.

    Sparse rankings may differ here: Qdrant's segments keep counting deleted
    points in their IDF statistics, while qdrant-client's local mode
    recounts exactly.
    """
    edge, server = stores
    for store in stores:
        store.upsert(_points(20, seed=400, sparse=sparse_encoder))
        store.delete_document("t1", "doc1")
        store.delete_document("t2", "doc3")
    assert edge.count() == server.count()
    for query in _queries(sparse_encoder):
        dense_only = HybridQuery(
            query.filter, query.limit, query.prefetch_limit, dense=query.dense or {}, exact=True
        )
        if dense_only.dense:
            assert _answers(edge, dense_only) == _answers(server, dense_only)
        for store in stores:
            gone = [h for h in store.query(query) if (h.payload["tenant"], h.payload["doc_id"]) in DELETED]
            assert gone == []


DELETED = {("t1", "doc1"), ("t2", "doc3")}


def test_upsert_is_idempotent(stores: list[VectorStore], sparse_encoder: Bm25Encoder) -> None:
    for store in stores:
        store.upsert(_points(300, seed=1, sparse=sparse_encoder))
        assert store.count() == 300
