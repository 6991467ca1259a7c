"""MCP over streamable HTTP at /mcp, driven by the SDK's own client: the tools and their
schemas, a search, an answer with citations, tool errors, and keys."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from omnidex.api.app import create_app
from omnidex.db import keys
from omnidex.runtime import Runtime
from tests import omni_fakes
from tests.files import make_pdf, make_picture

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def served(
    make_runtime: Callable[..., Runtime], omni: Callable[[str], omni_fakes.FakeOmni]
) -> Iterator[tuple[str, Runtime]]:
    fake = omni("vllm-omni")
    runtime = make_runtime(generator="vllm-omni", generator_url=fake.url)
    server, thread, url = omni_fakes.serve(create_app(runtime=runtime, workers=1))
    yield url, runtime
    omni_fakes.stop(server, thread)


@asynccontextmanager
async def client(url: str, key: str | None = None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=120) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as mcp,
    ):
        yield mcp


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)


def error_text(result: Any) -> str:
    assert result.is_error
    return " ".join(block.text for block in result.content if block.type == "text")


def owl_report(folder: Path) -> bytes:
    return make_pdf(
        folder / "owls.pdf",
        [["Barn owls hunt over the water meadows at dusk."], ["The owl survey counted forty pairs in May."]],
    ).read_bytes()


async def test_tools_search_answer_and_errors_over_http(served: tuple[str, Runtime], tmp_path: Path) -> None:
    url, _ = served
    async with client(url) as mcp:
        tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
        assert set(tools) == {"search", "answer", "list_documents", "get_document", "upload"}
        for tool in tools.values():
            assert tool.description
            assert tool.input_schema["type"] == "object"
        assert {"query", "image", "audio", "top_k", "modalities", "documents"} <= set(
            tools["search"].input_schema["properties"]
        )
        # Over HTTP, files come as base64, never as paths on the server.
        assert "files" in tools["upload"].input_schema["properties"]

        sent = base64.b64encode(owl_report(tmp_path)).decode()
        uploaded = structured(
            await mcp.call_tool("upload", {"files": [{"name": "owls.pdf", "content_base64": sent}]})
        )
        [document] = uploaded["documents"]
        assert document["status"] == "ready", document

        found = structured(await mcp.call_tool("search", {"query": "how many owl pairs were counted"}))
        best = found["hits"][0]
        assert best["source"] == "owls.pdf"
        assert best["page"] == 2
        assert "forty pairs" in best["text"]
        # Absolute, as the agent reached the server: the PDF, opened at the page.
        assert best["media_url"] == f"{url}/v1/documents/{document['id']}/file#page=2"

        answered = structured(await mcp.call_tool("answer", {"question": "How many owl pairs were counted?"}))
        assert answered["answer"]
        assert answered["citations"]
        assert answered["citations"][0]["source"] == "owls.pdf"
        assert answered["citations"][0]["number"] == 1

        listed = structured(await mcp.call_tool("list_documents", {}))
        assert [d["name"] for d in listed["documents"]] == ["owls.pdf"]  # before the picture below
        read = structured(await mcp.call_tool("get_document", {"document_id": document["id"]}))
        assert [item["page"] for item in read["items"]] == [1, 2]

        # A picture hit comes back as the picture itself when the agent asks for media.
        png = io.BytesIO()
        make_picture("LIGHTHOUSE", size=(640, 200)).save(png, format="PNG")
        picture = {"name": "sign.png", "content_base64": base64.b64encode(png.getvalue()).decode()}
        structured(await mcp.call_tool("upload", {"files": [picture]}))
        asked = {"query": "lighthouse", "modalities": ["image"], "include_media": True}
        shown = await mcp.call_tool("search", asked)
        assert structured(shown)["hits"][0]["source"] == "sign.png"
        [image] = [block for block in shown.content if block.type == "image"]
        assert image.mime_type == "image/jpeg"
        assert base64.b64decode(image.data)[:3] == b"\xff\xd8\xff"

        unknown = await mcp.call_tool("get_document", {"document_id": "no-such-document"})
        # The REST API's words, after the SDK's prefix.
        assert error_text(unknown) == "Error executing tool get_document: no document 'no-such-document'"
        bad = await mcp.call_tool("search", {"image": "this is not base64!"})
        assert "not valid base64" in error_text(bad)


async def test_keys_and_roles_hold_over_mcp(served: tuple[str, Runtime], tmp_path: Path) -> None:
    url, runtime = served
    _, reader = keys.create_key(runtime.db, "alpha", "reader")
    refused = httpx2.post(
        f"{url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": "Bearer wrong", "Accept": "application/json, text/event-stream"},
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "that API key is not valid, or it was revoked"
    assert httpx2.post(f"{url}/mcp", json={}).status_code == 401
    async with client(url, reader) as mcp:
        assert structured(await mcp.call_tool("list_documents", {})) == {"documents": []}
        sent = base64.b64encode(owl_report(tmp_path)).decode()
        refusal = await mcp.call_tool("upload", {"files": [{"name": "owls.pdf", "content_base64": sent}]})
        assert error_text(refusal).endswith("a reader key may not do this; it needs a writer key")


async def test_without_a_generator_answer_says_why(make_runtime: Callable[..., Runtime]) -> None:
    server, thread, url = omni_fakes.serve(create_app(runtime=make_runtime(), workers=0))
    try:
        async with client(url) as mcp:
            refusal = await mcp.call_tool("answer", {"question": "When does the ferry leave?"})
            assert "no generator is configured" in error_text(refusal)
            assert "OMNIDEX_GENERATOR" in error_text(refusal)
    finally:
        omni_fakes.stop(server, thread)
