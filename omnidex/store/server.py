"""ServerStore: a Qdrant server or cluster through qdrant-client.

Searches go through an alias (the configured collection name) to a real
collection ``<name>-<n>``, so ``omnidex reindex`` can build ``<name>-<n+1>``
beside it and switch the alias in one atomic request.

In tests ``location=":memory:"`` stands in for a server: qdrant-client's local
mode implements the server's API semantics, and the congruence suite checks
that both stores answer alike.
"""

from __future__ import annotations

import importlib.metadata
import logging
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
    from qdrant_client.common.version_check import is_compatible
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse
except ImportError as exc:  # pragma: no cover - a base dependency
    raise MissingExtra("qdrant-client", "server") from exc

log = logging.getLogger(__name__)


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
        shards: int = 1,
        replication_factor: int = 1,
        write_consistency: int = 1,
        alias: bool = True,
    ) -> None:
        """``alias=False`` uses ``collection`` as the real collection's name (reindexing builds one)."""
        self.schema = schema
        self.collection = collection
        self.shards, self.replication_factor, self.write_consistency = (
            shards,
            replication_factor,
            write_consistency,
        )
        if location is not None:
            self._client = QdrantClient(location=location)
        else:
            # Checked below, in this thread, rather than in one of qdrant-client's.
            self._client = QdrantClient(
                url=url, api_key=api_key, timeout=int(timeout), check_compatibility=False
            )
        try:
            if location is None:
                self._check_version()
            self._ensure_collection(alias)
        except (ResponseHandlingException, UnexpectedResponse) as exc:
            raise Unavailable(f"cannot reach Qdrant at {url}: {exc}") from exc

    def _check_version(self) -> None:
        server = self._client.info().version
        client = importlib.metadata.version("qdrant-client")
        if not is_compatible(client, server):
            log.warning(
                "Qdrant server %s and qdrant-client %s may not work together: the major versions "
                "should match and the minor ones differ by at most 1",
                server,
                client,
            )

    def _ensure_collection(self, alias: bool) -> None:
        if self._client.collection_exists(self.collection):  # a collection, or an alias of one
            self._check_schema()
            return
        if not alias:
            self._create(self.collection)
            return
        real = f"{self.collection}-1"
        self._create(real)
        create = models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=real, alias_name=self.collection)
        )
        try:
            self._client.update_collection_aliases(change_aliases_operations=[create])
        except UnexpectedResponse as exc:  # another process made it first
            if exc.status_code != 409 and not self._client.collection_exists(self.collection):
                raise

    def _create(self, name: str) -> None:
        """Create the collection and its payload indexes; another process doing the same is fine."""
        try:
            self._create_collection(name)
        except UnexpectedResponse as exc:
            if exc.status_code != 409 and not self._client.collection_exists(name):
                raise
            return
        with warnings.catch_warnings():
            # Local mode says payload indexes do nothing there; a server builds them.
            warnings.simplefilter("ignore", UserWarning)
            for field in INDEXED_FIELDS:
                schema: Any = (
                    models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
                    if field == "tenant"
                    else models.PayloadSchemaType.KEYWORD
                )
                self._client.create_payload_index(name, field, field_schema=schema)

    def _create_collection(self, name: str) -> None:
        self._client.create_collection(
            name,
            vectors_config={
                TEXT_VECTOR: models.VectorParams(size=self.schema.text_dim, distance=models.Distance.COSINE),
                IMAGE_VECTOR: models.VectorParams(
                    size=self.schema.image_dim, distance=models.Distance.COSINE
                ),
            },
            sparse_vectors_config={SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            shard_number=self.shards,
            replication_factor=self.replication_factor,
            write_consistency_factor=self.write_consistency,
        )

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

    def search(self, query: HybridQuery) -> dict[str, list[ScoredPoint]]:
        """One round trip: a batch of one nearest-neighbour query per vector."""
        flt = _client_filter(query.filter)
        params = models.SearchParams(exact=True) if query.exact else None
        searches: dict[str, Any] = {name: vector for name, vector in query.dense.items()}
        searches |= {
            name: models.SparseVector(indices=vector.indices, values=vector.values)
            for name, vector in query.sparse.items()
            if vector.indices
        }
        if not searches:
            return {}
        requests = [
            models.QueryRequest(
                query=vector,
                using=name,
                filter=flt,
                limit=query.prefetch_limit,
                params=params,
                with_payload=True,
            )
            for name, vector in searches.items()
        ]
        responses = self._client.query_batch_points(self.collection, requests=requests)
        return {
            name: [ScoredPoint(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]
            for name, response in zip(searches, responses, strict=True)
        }

    def count(self, tenant: str | None = None, doc_id: str | None = None) -> int:
        must = [_match(key, value) for key, value in (("tenant", tenant), ("doc_id", doc_id)) if value]
        flt = models.Filter(must=must) if must else None
        return int(self._client.count(self.collection, count_filter=flt, exact=True).count)

    def optimize(self) -> None:
        """A server optimises its segments by itself."""

    def versions(self) -> Collections:
        """This store's collection versions (on the same connection)."""
        return Collections(self._client, self.collection)

    def close(self) -> None:
        self._client.close()


class Collections:
    """Real collections ``<name>-<n>`` behind the alias ``<name>``: what a reindex builds and switches."""

    def __init__(self, client: QdrantClient, collection: str) -> None:
        self._client = client
        self.collection = collection

    def live(self) -> str:
        """The real collection the alias points at (the name itself, for one made before aliases)."""
        for alias in self._client.get_aliases().aliases:
            if alias.alias_name == self.collection:
                return alias.collection_name
        return self.collection

    def names(self) -> list[str]:
        """Every generation's collection, oldest first."""
        names = [c.name for c in self._client.get_collections().collections]
        return sorted((n for n in names if generation(n, self.collection)), key=self._number)

    def _number(self, name: str) -> int:
        return generation(name, self.collection)

    def switch(self, target: str) -> str:
        """Point the alias at ``target`` atomically; returns the collection it pointed at before."""
        before = self.live()
        create = models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=target, alias_name=self.collection)
        )
        if before == self.collection:
            # A collection from before aliases holds the name: it must go before the alias can come.
            self._client.delete_collection(before)
            self._client.update_collection_aliases(change_aliases_operations=[create])
            return before
        delete = models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.collection))
        self._client.update_collection_aliases(change_aliases_operations=[delete, create])
        return before

    def drop(self, name: str) -> None:
        if self._client.collection_exists(name):
            self._client.delete_collection(name)


def generation(name: str, base: str) -> int:
    """n for ``<base>-<n>``, 0 for anything else."""
    number = name.removeprefix(f"{base}-")
    return int(number) if name.startswith(f"{base}-") and number.isdigit() else 0


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
