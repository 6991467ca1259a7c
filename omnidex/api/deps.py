"""Dependencies shared by the routes, as ``Annotated`` aliases: one per component, and the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Annotated

from fastapi import Depends, Request

from omnidex.answering.answer import Answerer
from omnidex.api.guard import UNSAFE, from_another_page
from omnidex.blobs import BlobStore
from omnidex.config import Settings
from omnidex.db.engine import Database
from omnidex.db.keys import Caller, Role
from omnidex.errors import Forbidden, Unauthorized, Unavailable
from omnidex.retrieval import Retriever
from omnidex.runtime import Runtime
from omnidex.store import VectorStore


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise Unavailable("the service is starting up")
    return runtime


async def get_settings_dep(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Settings:
    return runtime.settings


async def get_database(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Database:
    return runtime.db


async def get_blobs(runtime: Annotated[Runtime, Depends(get_runtime)]) -> BlobStore:
    return runtime.blobs


async def get_store(runtime: Annotated[Runtime, Depends(get_runtime)]) -> VectorStore:
    return runtime.store


async def get_retriever(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Retriever:
    return runtime.retriever


async def get_answerer(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Answerer:
    return runtime.answerer


async def get_query_executor(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Executor:
    """The threads queries are encoded on (one torch thread each)."""
    return runtime.query_executor


SESSION_COOKIE = "omnidex_key"


async def get_caller(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> Caller:
    """Who is calling: the key's tenant and role; without any keys, everyone is the default tenant.

    The key comes in the Authorization header, or from the web UI's sign-in cookie (which is
    SameSite=Strict; a write from another page is refused all the same, as the keyless guard does).
    """
    open_access = getattr(request.app.state, "open_access", False)
    authorization = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not authorization and cookie:
        if request.method in UNSAFE and from_another_page(dict(request.scope["headers"])):
            raise Forbidden("a signed-in browser may only change things from omnidex's own pages")
        authorization = f"Bearer {cookie}"
    return caller_of(runtime, authorization, open_access=open_access)


def caller_of(runtime: Runtime, authorization: str, *, open_access: bool = False) -> Caller:
    """The caller an ``Authorization`` header names; raises Unauthorized for a missing or bad key."""
    if open_access or not runtime.keys.keys_exist():
        return Caller(runtime.settings.tenant, Role.ADMIN)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("this server needs an API key: send the header Authorization: Bearer <key>")
    caller = runtime.keys.verify(token.strip())
    if caller is None:
        raise Unauthorized("that API key is not valid, or it was revoked")
    return caller


async def get_tenant(caller: Annotated[Caller, Depends(get_caller)]) -> str:
    return caller.tenant


def require(role: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that lets only callers whose role allows ``role`` through."""

    async def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if not caller.role.allows(role):
            raise Forbidden(f"a {caller.role} key may not do this; it needs a {role} key")
        return caller

    return check


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[Database, Depends(get_database)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]
StoreDep = Annotated[VectorStore, Depends(get_store)]
RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
QueryExecutorDep = Annotated[Executor, Depends(get_query_executor)]
CallerDep = Annotated[Caller, Depends(get_caller)]
TenantDep = Annotated[str, Depends(get_tenant)]
WriterDep = Annotated[Caller, Depends(require(Role.WRITER))]
