"""`omnidex mcp`: the MCP server over stdio, for desktop agents (Claude Desktop, IDE assistants).

With ``--url`` it speaks for a running omnidex; without, it serves the data dir itself, as the
other commands do. Nothing but MCP messages goes to stdout: logs and the spinner use stderr.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from omnidex.cli.common import KeyOption, UrlOption, app
from omnidex.cli.local import ANSWER_TIMEOUT, LOCAL_URL, serve_here


@app.command()
def mcp(url: UrlOption = None, api_key: KeyOption = None) -> None:
    """Serve the MCP tools (search, answer, list_documents, get_document, upload) over stdio."""
    import anyio

    if url:
        anyio.run(_serve_stdio, url, api_key, None)
        return
    with serve_here() as socket:
        anyio.run(_serve_stdio, LOCAL_URL, None, httpx.AsyncHTTPTransport(uds=str(socket)))


async def _serve_stdio(url: str, api_key: str | None, transport: httpx.AsyncBaseTransport | None) -> None:
    from mcp.server.mcpserver import Context

    from omnidex.client.aio import AsyncClient
    from omnidex.mcp.tools import build_server

    @asynccontextmanager
    async def client_for(ctx: Context) -> AsyncIterator[AsyncClient]:
        async with AsyncClient(url, api_key=api_key, timeout=ANSWER_TIMEOUT, transport=transport) as client:
            yield client

    # Media URLs point at the server named by --url; in-process, there is no server to point at.
    public = url.rstrip("/") if transport is None else ""
    server = build_server(client_for, local_files=True, public_url=lambda ctx: public)
    await server.run_stdio_async()
