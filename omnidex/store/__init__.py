"""Vector stores: the embedded Qdrant Edge shard or a Qdrant server, behind one interface."""

from __future__ import annotations

from omnidex.config import Settings
from omnidex.store.base import HybridQuery, QueryFilter, Schema, VectorStore


def make_store(settings: Settings, schema: Schema) -> VectorStore:
    """ServerStore when ``OMNIDEX_QDRANT_URL`` is set, else the embedded EdgeStore."""
    if settings.qdrant_url:
        from omnidex.store.server import ServerStore

        if settings.qdrant_url == ":memory:":
            return ServerStore(schema, location=":memory:", collection=settings.collection)
        return ServerStore(
            schema, url=settings.qdrant_url, api_key=settings.qdrant_api_key, collection=settings.collection
        )
    from omnidex.store.edge import EdgeStore

    return EdgeStore(settings.edge_dir, schema)


__all__ = ["HybridQuery", "QueryFilter", "Schema", "VectorStore", "make_store"]
