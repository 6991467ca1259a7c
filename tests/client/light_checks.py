"""The client in a venv that holds only ``pip install 'omnidex[langchain]'`` (and pytest).

Not collected by the main suite: ``test_light_install.py`` builds that venv, starts a
server from the full one, and runs this file there with ``OMNIDEX_URL`` set.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
from pathlib import Path

import pytest

from omnidex import errors
from omnidex.client import AsyncClient, Client
from omnidex.client.langchain import OmnidexRetriever
from omnidex.schemas import DoneEvent, NoticeEvent, RetrievalEvent

SERVER_PACKAGES = {"torch", "transformers", "unstructured", "av", "qdrant-edge-py", "fastapi", "sqlalchemy"}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The server's URL, with one document about walruses ready on it."""
    url = os.environ["OMNIDEX_URL"]
    note = tmp_path_factory.mktemp("docs") / "walrus.md"
    note.write_text("# Walruses\n\nThe walrus keeps its tusks polished with kelp every Tuesday.\n")
    with Client(url) as client:
        [done] = client.wait(client.upload([note]), timeout=120)
        assert done.status == "ready", done.error
    return url


def test_no_server_package_is_installed() -> None:
    installed = {dist.metadata["Name"].lower() for dist in importlib.metadata.distributions()}
    assert installed & SERVER_PACKAGES == set()


def test_search_and_answer_events(url: str) -> None:
    with Client(url) as client:
        hits = client.search("what does the walrus polish its tusks with?", top_k=3).hits
        assert hits[0].source == "walrus.md"
        assert "kelp" in hits[0].text
        events = list(client.stream_answer("What polishes the walrus's tusks?"))
    assert isinstance(events[0], RetrievalEvent)
    assert any(isinstance(e, NoticeEvent) and e.code == "generator_not_configured" for e in events)
    assert isinstance(events[-1], DoneEvent)


def test_async_client(url: str) -> None:
    async def search() -> str:
        async with AsyncClient(url) as client:
            return (await client.search("walrus tusks", top_k=1)).hits[0].source

    assert asyncio.run(search()) == "walrus.md"


def test_langchain_retriever(url: str) -> None:
    docs = OmnidexRetriever(url=url, k=2).invoke("walrus tusks")
    assert docs[0].metadata["source"] == "walrus.md"


def test_errors_are_omnidex_errors(url: str, tmp_path: Path) -> None:
    with Client(url) as client, pytest.raises(errors.NotFound):
        client.document("nosuchdocument")
