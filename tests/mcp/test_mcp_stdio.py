"""`omnidex mcp` over stdio, as a desktop agent starts it, driven by the SDK's own client: it
serves its data dir itself, uploads by path, searches, answers and reports errors."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests import omni_fakes
from tests.files import make_pdf

pytestmark = pytest.mark.timeout(300)


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)


async def test_a_desktop_agent_indexes_searches_and_asks_over_stdio(
    tmp_path: Path, omni: Callable[[str], omni_fakes.FakeOmni]
) -> None:
    fake = omni("vllm-omni")
    report = make_pdf(
        tmp_path / "kilns.pdf",
        [["The pottery fires its kiln on Thursdays."], ["The kiln reaches 1280 degrees at its peak."]],
    )
    command = shutil.which("omnidex") or str(Path(sys.executable).parent / "omnidex")
    server = StdioServerParameters(
        command=command,
        args=["mcp"],
        env={
            **os.environ,
            "OMNIDEX_DATA_DIR": str(tmp_path / "data"),
            "OMNIDEX_WORKERS": "1",
            "OMNIDEX_GENERATOR": "vllm-omni",
            "OMNIDEX_GENERATOR_URL": fake.url,
            "OMNIDEX_LOG_LEVEL": "WARNING",
        },
    )
    async with Client(server, read_timeout_seconds=240) as mcp:
        tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
        assert set(tools) == {"search", "answer", "list_documents", "get_document", "upload"}
        # Over stdio, files are named by their paths on this machine.
        assert "paths" in tools["upload"].input_schema["properties"]
        assert "a path on this machine" in tools["search"].description

        [document] = structured(await mcp.call_tool("upload", {"paths": [str(report)]}))["documents"]
        assert document["status"] == "ready", document
        missing = await mcp.call_tool("upload", {"paths": [str(tmp_path / "nowhere.pdf")]})
        assert missing.is_error

        asked = {"query": "what temperature does the kiln reach"}
        hits = structured(await mcp.call_tool("search", asked))["hits"]
        assert hits[0]["source"] == "kilns.pdf"
        assert hits[0]["page"] == 2
        answered = structured(await mcp.call_tool("answer", {"question": "How hot does the kiln get?"}))
        assert answered["answer"]
        assert answered["citations"][0]["source"] == "kilns.pdf"

        unknown = await mcp.call_tool("get_document", {"document_id": "0123456789abcdef"})
        assert unknown.is_error
        assert unknown.content[0].text == "Error executing tool get_document: no document '0123456789abcdef'"
