"""Vector stores: the embedded Qdrant Edge shard or a Qdrant server, behind one interface, and
their index versions. A service: imports only the floor.
"""

from __future__ import annotations

from omnidex.config import Settings
from omnidex.store.base import HybridQuery, QueryFilter, Schema, VectorStore


def make_store(settings: Settings, schema: Schema, *, collection: str | None = None) -> VectorStore:
    """ServerStore when ``OMNIDEX_QDRANT_URL`` is set, else the embedded EdgeStore (its live shard).

    ``collection`` opens that real collection instead of the configured alias (a reindex's target).
    """
    if settings.qdrant_url:
        from omnidex.store.server import ServerStore

        if settings.qdrant_url == ":memory:":
            return ServerStore(schema, location=":memory:", collection=settings.collection)
        return ServerStore(
            schema,
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key,
            collection=collection or settings.collection,
            alias=collection is None,
            shards=settings.qdrant_shards,
            replication_factor=settings.qdrant_replication_factor,
            write_consistency=settings.qdrant_write_consistency,
        )
    from omnidex.store.edge import EdgeStore
    from omnidex.store.versions import live_edge_dir

    return EdgeStore(live_edge_dir(settings.data_dir), schema)


__all__ = ["HybridQuery", "QueryFilter", "Schema", "VectorStore", "make_store"]
