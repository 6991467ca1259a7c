"""What ServerStore sends a Qdrant server, request by request, as recorded by the stand-in server."""

from __future__ import annotations

import logging

import pytest

from omnidex.store.base import HybridQuery, QueryFilter, Schema
from omnidex.store.server import ServerStore
from omnidex.types import Point, SparseVector
from tests.qdrant_fake import FakeQdrant

SCHEMA = Schema(text_dim=4, image_dim=3)


def test_the_collection_is_created_for_a_cluster(qdrant_server: FakeQdrant) -> None:
    store = ServerStore(SCHEMA, url=qdrant_server.url, shards=6, replication_factor=2, write_consistency=2)
    created = qdrant_server.sent("PUT", "/collections/omnidex-1")
    assert [r.body for r in created] == [
        {
            "vectors": {
                "text": {"size": 4, "distance": "Cosine"},
                "image": {"size": 3, "distance": "Cosine"},
            },
            "shard_number": 6,
            "replication_factor": 2,
            "write_consistency_factor": 2,
            "sparse_vectors": {"sparse": {"modifier": "idf"}},
        }
    ]
    indexes = [r.body for r in qdrant_server.sent("PUT", "/collections/omnidex-1/index")]
    assert indexes == [
        # A tenant index: Qdrant lays points out by tenant, so one tenant's queries stay fast.
        {"field_name": "tenant", "field_schema": {"type": "keyword", "is_tenant": True}},
        {"field_name": "doc_id", "field_schema": "keyword"},
        {"field_name": "modality", "field_schema": "keyword"},
    ]
    assert [r.body for r in qdrant_server.sent("POST", "/collections/aliases")] == [
        {"actions": [{"create_alias": {"collection_name": "omnidex-1", "alias_name": "omnidex"}}]}
    ]
    store.close()

    # A second process finds it through the alias, checks its vector sizes, and creates nothing.
    before = len(qdrant_server.requests)
    again = ServerStore(SCHEMA, url=qdrant_server.url, shards=6, replication_factor=2, write_consistency=2)
    later = [(r.method, r.path) for r in qdrant_server.requests[before:]]
    assert later == [("GET", "/collections/omnidex/exists"), ("GET", "/collections/omnidex")]
    again.close()


def test_writes_wait_and_queries_are_filtered_by_tenant(qdrant_server: FakeQdrant) -> None:
    store = ServerStore(SCHEMA, url=qdrant_server.url)
    point = Point(
        id="3f2504e0-4f89-41d3-9a0c-0305e82c3301",
        vectors={"text": [1.0, 0.0, 0.0, 0.0]},
        sparse={"sparse": SparseVector([7], [1.5])},
        payload={"tenant": "alpha", "doc_id": "d1", "modality": "text", "text": "lion"},
    )
    store.upsert([point])
    upsert = qdrant_server.sent("PUT", "/collections/omnidex/points")[-1]
    assert upsert.query == {"wait": "true"}
    assert upsert.body["points"][0]["vector"] == {
        "text": [1.0, 0.0, 0.0, 0.0],
        "sparse": {"indices": [7], "values": [1.5]},
    }

    query = HybridQuery(
        QueryFilter("alpha", doc_ids=("d1",)),
        limit=5,
        prefetch_limit=20,
        dense={"text": [1.0, 0.0, 0.0, 0.0]},
        sparse={"sparse": SparseVector([7], [1.0])},
    )
    hits = store.query(query)
    assert [h.payload["text"] for h in hits] == ["lion"]
    tenant_filter = {
        "must": [
            {"key": "tenant", "match": {"value": "alpha"}},
            {"key": "doc_id", "match": {"any": ["d1"]}},
        ]
    }
    sent = qdrant_server.sent("POST", "/collections/omnidex/points/query")[-1].body
    assert sent == {
        "prefetch": [
            {"filter": tenant_filter, "query": [1.0, 0.0, 0.0, 0.0], "using": "text", "limit": 20},
            {
                "filter": tenant_filter,
                "query": {"indices": [7], "values": [1.0]},
                "using": "sparse",
                "limit": 20,
            },
        ],
        "query": {"rrf": {"k": 60}},
        "filter": tenant_filter,
        "limit": 5,
        "with_payload": True,
        "with_vector": False,
    }
    assert store.query(HybridQuery(QueryFilter("beta"), dense={"text": [1.0, 0.0, 0.0, 0.0]})) == []

    store.delete_document("alpha", "d1")
    delete = qdrant_server.sent("POST", "/collections/omnidex/points/delete")[-1]
    assert delete.query == {"wait": "true"}
    assert delete.body == {
        "filter": {
            "must": [
                {"key": "tenant", "match": {"value": "alpha"}},
                {"key": "doc_id", "match": {"value": "d1"}},
            ]
        }
    }
    assert store.count() == 0
    store.close()


def test_switching_generations_is_one_alias_request(qdrant_server: FakeQdrant) -> None:
    store = ServerStore(SCHEMA, url=qdrant_server.url)
    target = ServerStore(
        Schema(text_dim=2, image_dim=3), url=qdrant_server.url, collection="omnidex-2", alias=False
    )
    generations = store.versions()
    assert (generations.live(), generations.names()) == ("omnidex-1", ["omnidex-1", "omnidex-2"])
    assert generations.switch("omnidex-2") == "omnidex-1"
    assert qdrant_server.sent("POST", "/collections/aliases")[-1].body == {
        "actions": [
            {"delete_alias": {"alias_name": "omnidex"}},
            {"create_alias": {"collection_name": "omnidex-2", "alias_name": "omnidex"}},
        ]
    }
    assert generations.live() == "omnidex-2"
    target.close()
    store.close()


def test_a_server_of_another_major_version_is_reported(
    qdrant_server: FakeQdrant, caplog: pytest.LogCaptureFixture
) -> None:
    qdrant_server.version = "0.9.0"
    with caplog.at_level(logging.WARNING, logger="omnidex.store.server"):
        ServerStore(SCHEMA, url=qdrant_server.url).close()
    assert "Qdrant server 0.9.0 and qdrant-client" in caplog.text
