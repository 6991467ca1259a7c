"""The LangChain retriever, held to LangChain's own standard retriever tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from omnidex.api.app import create_app
from omnidex.client import Client
from omnidex.client.langchain import OmnidexRetriever
from omnidex.runtime import Runtime
from tests.files import make_pdf
from tests.omni_fakes import serve, stop

FACTS = [
    "Lions put on sunscreen before the parade.",
    "Penguins keep their eggs warm on their feet.",
    "Giraffes sleep standing up for short naps.",
    "Elephants remember the way to water.",
]


class TestOmnidexRetriever(RetrieversIntegrationTests):
    url = ""

    @pytest.fixture(autouse=True)
    def server(self, make_runtime: Callable[..., Runtime], tmp_path: Path) -> Iterator[None]:
        rt = make_runtime()
        server, thread, url = serve(create_app(runtime=rt, workers=1))
        pdf = make_pdf(tmp_path / "animals.pdf", [[fact] for fact in FACTS])
        with Client(url) as client:
            client.upload([pdf], wait=True, timeout=120)
        type(self).url = url
        yield
        stop(server, thread)

    @property
    def retriever_constructor(self) -> type[OmnidexRetriever]:
        return OmnidexRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"url": self.url, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "Which animal wears sunscreen?"


def test_documents_carry_where_they_come_from(make_runtime: Callable[..., Runtime], tmp_path: Path) -> None:
    rt = make_runtime()
    server, thread, url = serve(create_app(runtime=rt, workers=1))
    try:
        with Client(url) as client:
            client.upload([make_pdf(tmp_path / "animals.pdf", [[fact] for fact in FACTS])], wait=True)
        [doc] = OmnidexRetriever(url=url, k=1).invoke("Which animal wears sunscreen?")
    finally:
        stop(server, thread)
    assert doc.page_content == FACTS[0]
    assert doc.metadata["source"] == "animals.pdf"
    assert doc.metadata["page"] == 1
    assert doc.metadata["modality"] == "text"
    assert doc.metadata["media_url"] == f"{url}/v1/documents/{doc.metadata['doc_id']}/file#page=1"
