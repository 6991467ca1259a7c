"""A stand-in Qdrant server: Qdrant's REST API on localhost, backed by qdrant-client's local mode.

No Qdrant server can run on the test machines. This one speaks the REST
routes and JSON shapes of Qdrant's OpenAPI (parsed and built with
qdrant-client's own ``http.models``), runs every operation on an in-memory
``QdrantClient(":memory:")``, and records each request for tests to assert.
Many processes can share it, as they would share a server.
"""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from pydantic import BaseModel
from qdrant_client import QdrantClient, models
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

COLLECTION = "/collections/{name}"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeQdrant:
    requests: list[Recorded] = field(default_factory=list)
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)  # creation bodies, as sent
    url: str = ""
    version: str = field(default_factory=lambda: version("qdrant-client"))  # the one it claims to be

    def __post_init__(self) -> None:
        self.local = QdrantClient(location=":memory:")
        self.lock = threading.Lock()

    def sent(self, method: str, suffix: str = "") -> list[Recorded]:
        """The recorded requests of a method whose path ends with ``suffix``."""
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    def app(self) -> Starlette:
        routes = [
            Route(COLLECTION + "/exists", self._exists, methods=["GET"]),
            Route(COLLECTION, self._create, methods=["PUT"]),
            Route(COLLECTION, self._info, methods=["GET"]),
            Route(COLLECTION, self._drop, methods=["DELETE"]),
            Route(COLLECTION + "/index", self._index, methods=["PUT"]),
            Route(COLLECTION + "/points", self._upsert, methods=["PUT"]),
            Route(COLLECTION + "/points/delete", self._delete, methods=["POST"]),
            Route(COLLECTION + "/points/count", self._count, methods=["POST"]),
            Route(COLLECTION + "/points/query", self._query, methods=["POST"]),
            Route(COLLECTION + "/points/query/batch", self._query_batch, methods=["POST"]),
            Route(COLLECTION + "/points/scroll", self._scroll, methods=["POST"]),
            Route("/collections/aliases", self._change_aliases, methods=["POST"]),
            Route("/aliases", self._aliases, methods=["GET"]),
            Route("/collections", self._list, methods=["GET"]),
            Route("/", self._version, methods=["GET"]),
        ]
        return Starlette(routes=routes)

    async def _call(self, request: Request, work: Any, parse: type[BaseModel] | None = None) -> Response:
        raw = await request.body()
        body = await request.json() if raw else None
        self.requests.append(Recorded(request.method, request.url.path, dict(request.query_params), body))
        started = time.perf_counter()
        try:
            with self.lock:
                parsed = parse.model_validate(body) if parse is not None else None
                name = request.path_params.get("name", "")
                result = work(name, parsed) if parse is not None else work(name)
        except ValueError as exc:  # local mode's "not found", "wrong size", …
            status = 404 if "not found" in str(exc).lower() else 400
            return JSONResponse({"status": {"error": str(exc)}, "time": 0.0}, status_code=status)
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json", exclude_none=True)
        elif isinstance(result, list):
            result = [r.model_dump(mode="json", exclude_none=True) for r in result]
        return JSONResponse({"result": result, "status": "ok", "time": time.perf_counter() - started})

    async def _version(self, _: Request) -> Response:
        return JSONResponse({"title": "qdrant - vector search engine", "version": self.version})

    async def _exists(self, request: Request) -> Response:
        return await self._call(request, lambda n: {"exists": self.local.collection_exists(n)})

    async def _create(self, request: Request) -> Response:
        def create(name: str, body: models.CreateCollection) -> bool:
            self.collections[name] = body.model_dump(mode="json", exclude_unset=True)
            return self.local.create_collection(
                name, vectors_config=body.vectors, sparse_vectors_config=body.sparse_vectors
            )

        return await self._call(request, create, models.CreateCollection)

    async def _info(self, request: Request) -> Response:
        def info(name: str) -> models.CollectionInfo:
            found = self.local.get_collection(name)
            aliases = {a.alias_name: a.collection_name for a in self.local.get_aliases().aliases}
            asked = self.collections.get(aliases.get(name, name), {})
            # A server reports the cluster layout it was asked for; local mode has none.
            for key in ("shard_number", "replication_factor", "write_consistency_factor"):
                if key in asked:
                    setattr(found.config.params, key, asked[key])
            return found

        return await self._call(request, info)

    async def _drop(self, request: Request) -> Response:
        return await self._call(request, lambda n: self.local.delete_collection(n))

    async def _index(self, request: Request) -> Response:
        def index(name: str, body: models.CreateFieldIndex) -> models.UpdateResult:
            with warnings.catch_warnings():  # local mode: "payload indexes have no effect"
                warnings.simplefilter("ignore", UserWarning)
                return self.local.create_payload_index(name, body.field_name, field_schema=body.field_schema)

        return await self._call(request, index, models.CreateFieldIndex)

    async def _upsert(self, request: Request) -> Response:
        def upsert(name: str, body: models.PointsList) -> models.UpdateResult:
            return self.local.upsert(name, points=body.points)

        return await self._call(request, upsert, models.PointsList)

    async def _delete(self, request: Request) -> Response:
        def delete(name: str, body: models.FilterSelector) -> models.UpdateResult:
            return self.local.delete(name, points_selector=body)

        return await self._call(request, delete, models.FilterSelector)

    async def _count(self, request: Request) -> Response:
        def count(name: str, body: models.CountRequest) -> models.CountResult:
            return self.local.count(name, count_filter=body.filter, exact=bool(body.exact))

        return await self._call(request, count, models.CountRequest)

    async def _query(self, request: Request) -> Response:
        def query(name: str, body: models.QueryRequest) -> models.QueryResponse:
            return self.local.query_points(
                name,
                prefetch=body.prefetch,
                query=body.query,
                using=body.using,
                query_filter=body.filter,
                limit=body.limit or 10,
                with_payload=body.with_payload if body.with_payload is not None else False,
                search_params=body.params,
            )

        return await self._call(request, query, models.QueryRequest)

    async def _query_batch(self, request: Request) -> Response:
        def query_batch(name: str, body: models.QueryRequestBatch) -> list[models.QueryResponse]:
            return self.local.query_batch_points(name, requests=body.searches)

        return await self._call(request, query_batch, models.QueryRequestBatch)

    async def _scroll(self, request: Request) -> Response:
        def scroll(name: str, body: models.ScrollRequest) -> dict[str, Any]:
            points, offset = self.local.scroll(
                name,
                scroll_filter=body.filter,
                limit=body.limit or 10,
                offset=body.offset,
                with_payload=body.with_payload if body.with_payload is not None else True,
                with_vectors=body.with_vector if body.with_vector is not None else False,
            )
            dumped = [p.model_dump(mode="json", exclude_none=True) for p in points]
            return {"points": dumped, "next_page_offset": offset}

        return await self._call(request, scroll, models.ScrollRequest)

    async def _change_aliases(self, request: Request) -> Response:
        def change(_: str, body: models.ChangeAliasesOperation) -> bool:
            return self.local.update_collection_aliases(change_aliases_operations=body.actions)

        return await self._call(request, change, models.ChangeAliasesOperation)

    async def _aliases(self, request: Request) -> Response:
        return await self._call(request, lambda _: self.local.get_aliases())

    async def _list(self, request: Request) -> Response:
        return await self._call(request, lambda _: self.local.get_collections())
