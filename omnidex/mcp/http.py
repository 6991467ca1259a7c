"""MCP over streamable HTTP at ``/mcp`` in the API, behind the same keys and tenants.

Each tool call goes to the app itself, in-process, with the caller's own ``Authorization``
header: a reader's key may search but not upload, and every key sees its tenant alone. A
request with a wrong key is refused before any MCP session starts (401, the API's message).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from fastapi import FastAPI
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from omnidex.api.deps import caller_of
from omnidex.api.errors import error_response
from omnidex.client.aio import AsyncClient
from omnidex.config import Settings
from omnidex.errors import Unauthorized
from omnidex.mcp.tools import build_server

PATH = "/mcp"
INTERNAL_URL = "http://localhost"  # requests to the app itself, in-process
BASE64_OVERHEAD = 4 / 3


def mount_mcp(app: FastAPI, settings: Settings) -> AbstractAsyncContextManager[None]:
    """Add ``/mcp`` to ``app``; returns what runs its sessions (enter it in the app's lifespan)."""
    transport = httpx.ASGITransport(app=app)

    def client_for(ctx: Context) -> AsyncClient:
        key = _bearer((ctx.headers or {}).get("authorization", ""))
        return AsyncClient(INTERNAL_URL, api_key=key, transport=transport, timeout=3600, retries=0)

    # A file travels as base64 inside the JSON body, which OMNIDEX_MAX_JSON_BYTES bounds.
    limit = min(settings.max_upload_bytes, int(settings.max_json_bytes / BASE64_OVERHEAD) - 2**16)
    server = build_server(client_for, local_files=False, upload_limit=limit, public_url=_public_url)
    mcp_app = server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.max_json_bytes,
        # The API's own guard checks hosts and origins for every path (api/guard.py).
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    for route in mcp_app.routes:
        if isinstance(route, Route) and route.path == PATH:
            app.router.routes.append(Route(PATH, endpoint=_KeyCheck(route.app), methods=None))

    @asynccontextmanager
    async def sessions() -> AsyncIterator[None]:
        async with server.session_manager.run():
            yield

    return sessions()


class _KeyCheck:
    """Refuses a missing or wrong key (once keys exist) the way the API does: 401 and its message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state
        runtime = getattr(state, "runtime", None)
        if runtime is not None:  # still starting: the tools' own calls will say so
            authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            try:
                caller_of(runtime, authorization, open_access=getattr(state, "open_access", False))
            except Unauthorized as exc:
                await error_response(401, exc.code, exc.message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _public_url(ctx: Context) -> str:
    """The server as the caller reached it (behind a proxy, as the proxy says it was reached)."""
    headers = ctx.headers or {}
    host = headers.get("x-forwarded-host") or headers.get("host") or ""
    scheme = headers.get("x-forwarded-proto") or "http"
    return f"{scheme}://{host}" if host else ""


def _bearer(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
