"""The FastAPI application: routes, error handlers, and the runtime's life cycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

import omnidex
from omnidex.api.errors import install_error_handlers
from omnidex.api.guard import KeylessGuard
from omnidex.api.limits import LimitBodies
from omnidex.api.observe import ObserveRequests
from omnidex.api.openapi import completed_openapi
from omnidex.api.routes import answer, chat, docs, documents, health, info, media, search, session, web
from omnidex.config import Settings, get_settings
from omnidex.db import keys
from omnidex.mcp.http import mount_mcp
from omnidex.runtime import Runtime
from omnidex.store.versions import live_edge_dir

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    workers: int | None = None,
    open_access: bool = False,
) -> FastAPI:
    """The app; it builds its own Runtime at start-up unless one is given (tests, embedding).

    ``workers`` ingest threads run inside the process (default: from Settings).
    ``open_access`` lets every request act as the default tenant's admin, keys or not: only
    for an app that nobody else can reach (the CLI's own, on a private socket).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        active = (
            runtime if runtime is not None else await run_in_threadpool(Runtime, settings or get_settings())
        )
        count = active.settings.workers if workers is None else workers
        active.start_workers(count)
        if owned:
            active.start_sweeping()
        app.state.runtime = active
        app.state.open_access = open_access
        _log_start(active, count)
        try:
            async with mcp_sessions:
                yield
        finally:
            app.state.runtime = None
            for model in (active.generator, active.reasoner):
                if model is not None:
                    await model.aclose()
            if owned:
                await run_in_threadpool(active.close)
            else:
                await run_in_threadpool(active.stop_workers)

    app = FastAPI(
        title="omnidex",
        version=omnidex.__version__,
        summary="Multimodal RAG over Qdrant: upload documents, search them, and ask Qwen3-Omni about them.",
        lifespan=lifespan,
        docs_url=None,  # served from local files instead (routes/docs.py)
        redoc_url=None,
    )
    install_error_handlers(app)
    limits = runtime.settings if runtime is not None else settings or get_settings()
    app.add_middleware(LimitBodies, max_bytes=limits.max_json_bytes)
    app.add_middleware(KeylessGuard, allowed_hosts=limits.allowed_hosts)
    app.add_middleware(ObserveRequests)
    app.include_router(health.router)
    app.include_router(documents.router)
    app.include_router(search.router)
    app.include_router(answer.router)
    app.include_router(chat.router)
    app.include_router(media.router)
    app.include_router(info.router)
    app.include_router(session.router)
    app.include_router(web.router)
    app.include_router(docs.router)
    app.mount(docs.ASSETS_PATH, StaticFiles(directory=docs.assets_folder()), name="docs-assets")
    app.mount("/ui", StaticFiles(directory=web.ASSETS), name="ui")
    mcp_sessions = mount_mcp(app, limits)
    app.openapi = completed_openapi(app)  # type: ignore[method-assign]
    return app


def _log_start(runtime: Runtime, workers: int) -> None:
    settings = runtime.settings
    store = settings.qdrant_url or f"Qdrant Edge at {live_edge_dir(settings.data_dir)}"
    log.info(
        "omnidex %s: data in %s, vectors in %s, %d ingest worker(s)",
        omnidex.__version__,
        settings.data_dir,
        store,
        workers,
    )
    if keys.keys_exist(runtime.db):
        log.info(
            "API keys are on: every request but /healthz and /readyz needs Authorization: Bearer <key> "
            "(/metrics an admin key)"
        )
    else:
        log.info(
            "no API keys: every request acts as tenant %r; keep this server on localhost", settings.tenant
        )
