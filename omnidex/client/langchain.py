"""A LangChain retriever over omnidex (``pip install 'omnidex[langchain]'``).

    from omnidex.client.langchain import OmnidexRetriever

    retriever = OmnidexRetriever(url="http://127.0.0.1:8000", k=5)
    docs = retriever.invoke("Which animal wears sunscreen?")

Each ``Document`` holds the hit's text (a passage, a picture's OCR text, a
transcript) and, in its metadata, where it comes from: modality, kind, source,
page, start/end seconds, and absolute media URLs.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from omnidex.client.aio import AsyncClient
from omnidex.client.base import DEFAULT_URL
from omnidex.client.sync import Client
from omnidex.schemas import HitOut


class OmnidexRetriever(BaseRetriever):
    """Hybrid multimodal search of an omnidex server, as LangChain documents."""

    url: str = DEFAULT_URL
    api_key: str | None = None
    k: int = 8
    modalities: list[str] = Field(default_factory=list)
    doc_ids: list[str] = Field(default_factory=list)
    timeout: float = 60.0

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        with Client(self.url, api_key=self.api_key, timeout=self.timeout) as client:
            found = client.search(query, **self._options(k))
        return [self._document(hit) for hit in found.hits]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        async with AsyncClient(self.url, api_key=self.api_key, timeout=self.timeout) as client:
            found = await client.search(query, **self._options(k))
        return [self._document(hit) for hit in found.hits]

    def _options(self, k: int | None) -> dict[str, Any]:
        return {"top_k": k or self.k, "modalities": self.modalities, "doc_ids": self.doc_ids}

    def _document(self, hit: HitOut) -> Document:
        base = self.url.rstrip("/")
        metadata = hit.model_dump(mode="json", exclude={"text"})
        for key in ("media_url", "thumbnail_url"):
            if metadata.get(key):
                metadata[key] = base + metadata[key]
        return Document(page_content=hit.text, metadata=metadata, id=hit.id)
