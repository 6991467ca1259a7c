"""``AsyncClient``: omnidex over HTTP, for asyncio."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from omnidex.client.base import (
    BACKOFF_SECONDS,
    DEFAULT_URL,
    RETRY_STATUSES,
    Call,
    ClientError,
    Counting,
    Media,
    Progress,
    answer_call,
    answer_event,
    asse_blocks,
    content_type,
    ids_of,
    parse,
    raise_for_error,
    search_call,
    upload_name,
)
from omnidex.schemas import (
    AnswerEvent,
    AnswerResponse,
    DocumentList,
    DocumentOut,
    ItemList,
    SearchResponse,
    UploadedDocument,
    UploadResponse,
)
from omnidex.types import DocStatus

FINAL = {DocStatus.READY, DocStatus.FAILED}


class AsyncClient:
    """The asyncio twin of :class:`omnidex.client.Client`, method for method."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.retries = retries
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- documents ----

    async def upload(
        self,
        files: Sequence[str | Path | IO[bytes]],
        *,
        wait: bool = False,
        timeout: float | None = None,
        progress: Progress | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[UploadedDocument] | list[DocumentOut]:
        """Upload files one request each, streamed from disk; with ``wait``, their final states.

        ``sources``, one per file, are the names the documents keep in place of the files' names
        (their paths in a synced folder, say)."""
        if sources is not None and len(sources) != len(files):
            raise ValueError("give one source for each file")
        named = list(sources) if sources is not None else [None] * len(files)
        uploaded = [
            await self._upload_one(source, progress, n) for source, n in zip(files, named, strict=True)
        ]
        return await self.wait(uploaded, timeout=timeout) if wait else uploaded

    async def _upload_one(
        self, source: str | Path | IO[bytes], progress: Progress | None, named: str | None = None
    ) -> UploadedDocument:
        name = upload_name(source)
        if isinstance(source, str | Path):
            with Path(source).open("rb") as handle:
                return await self._post_file(handle, name, progress, named)
        return await self._post_file(source, name, progress, named)

    async def _post_file(
        self, handle: IO[bytes], name: str, progress: Progress | None, named: str | None = None
    ) -> UploadedDocument:
        start = handle.tell() if handle.seekable() else 0
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
                handle.seek(start)
            body: Any = Counting(handle, name, _size(handle), progress)
            try:
                response = await self._http.post(
                    "/v1/documents",
                    params={"source": named} if named else None,
                    files={"files": (name, body, content_type(name))},
                )
            except httpx.TransportError as exc:
                if attempt >= self.retries or not handle.seekable():
                    raise ClientError(f"cannot reach omnidex: {exc}") from exc
                continue
            if response.status_code not in RETRY_STATUSES or attempt >= self.retries:
                raise_for_error(response.status_code, response.content)
                return UploadResponse.model_validate_json(response.content).documents[0]
        raise AssertionError("unreachable")

    async def wait(
        self, documents: Sequence[str | Any], *, timeout: float | None = None
    ) -> list[DocumentOut]:
        """Block until each document is ready or failed (SSE); TimeoutError past ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        done = []
        for doc_id in ids_of(documents):
            left = None if deadline is None else max(0.1, deadline - time.monotonic())
            done.append(await self._wait_one(doc_id, left))
        return done

    async def _wait_one(self, doc_id: str, timeout: float | None) -> DocumentOut:
        try:
            async with self._http.stream(
                "GET", f"/v1/documents/{doc_id}/events", timeout=httpx.Timeout(timeout, connect=10)
            ) as response:
                if response.status_code >= 400:
                    raise_for_error(response.status_code, await response.aread())
                async for name, data in asse_blocks(response.aiter_lines()):
                    if name in FINAL:
                        return DocumentOut.model_validate_json(data)
        except httpx.ReadTimeout as exc:
            raise TimeoutError(f"document {doc_id} was not done within {timeout:g} s") from exc
        return await self.document(doc_id)  # the stream ended (deleted, or the server went away)

    async def documents(
        self, status: DocStatus | str | None = None, limit: int = 100, offset: int = 0
    ) -> list[DocumentOut]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = str(status)
        return parse(DocumentList, await self._send(Call("GET", "/v1/documents", params=params))).documents

    async def document(self, doc_id: str) -> DocumentOut:
        return parse(DocumentOut, await self._send(Call("GET", f"/v1/documents/{doc_id}")))

    async def items(self, doc_id: str) -> ItemList:
        return parse(ItemList, await self._send(Call("GET", f"/v1/documents/{doc_id}/items")))

    async def delete(self, doc_id: str) -> None:
        await self._send(Call("DELETE", f"/v1/documents/{doc_id}"))

    async def retry(self, doc_id: str) -> DocumentOut:
        """Queue a failed document again."""
        return parse(DocumentOut, await self._send(Call("POST", f"/v1/documents/{doc_id}/retry")))

    # ---- search, answers, media ----

    async def search(
        self,
        query: str | None = None,
        *,
        image: Media | None = None,
        audio: Media | None = None,
        top_k: int = 10,
        modalities: Sequence[str] = (),
        doc_ids: Sequence[str] = (),
    ) -> SearchResponse:
        fields = {"top_k": top_k, "modalities": list(modalities), "doc_ids": list(doc_ids)}
        return parse(SearchResponse, await self._send(search_call("/v1/search", query, image, audio, fields)))

    async def answer(
        self,
        query: str | None = None,
        *,
        image: Media | None = None,
        audio: Media | None = None,
        top_k: int | None = None,
        speak: bool = False,
        voice: str | None = None,
        language: str | None = None,
        **options: Any,
    ) -> AnswerResponse:
        """A whole answer at once (see ``stream_answer`` for events as they come)."""
        fields = {"top_k": top_k, "speak": speak, "voice": voice, "language": language, **options}
        call = answer_call(query, image, audio, fields)
        response = await self._send(call, allow=frozenset({502}))  # 502: no answer, but the hits
        return parse(AnswerResponse, response)

    async def stream_answer(
        self,
        query: str | None = None,
        *,
        image: Media | None = None,
        audio: Media | None = None,
        top_k: int | None = None,
        speak: bool = False,
        voice: str | None = None,
        language: str | None = None,
        **options: Any,
    ) -> AsyncIterator[AnswerEvent]:
        """The answer's events as they arrive: retrieval, text, audio, notice, citations, done or error."""
        fields = {"top_k": top_k, "speak": speak, "voice": voice, "language": language, **options}
        call = answer_call(query, image, audio, fields, stream=True)
        async with self._http.stream(
            call.method, call.path, json=call.json, data=call.data, files=call.files
        ) as response:
            if response.status_code >= 400:
                raise_for_error(response.status_code, await response.aread())
            async for name, data in asse_blocks(response.aiter_lines()):
                event = answer_event(name, data)
                if event is not None:
                    yield event

    async def media(
        self, item_id: str, *, thumb: bool = False, clip: bool = False, to: str | Path | None = None
    ) -> bytes | Path:
        """A hit's media: bytes, or streamed into the file ``to``."""
        params = {key: 1 for key, on in (("thumb", thumb), ("clip", clip)) if on}
        if to is None:
            return (await self._send(Call("GET", f"/v1/media/{item_id}", params=params))).content
        target = Path(to)
        async with self._http.stream("GET", f"/v1/media/{item_id}", params=params) as response:
            if response.status_code >= 400:
                raise_for_error(response.status_code, await response.aread())
            with target.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
        return target

    # ---- plumbing ----

    async def _send(self, call: Call, allow: frozenset[int] = frozenset()) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                response = await self._http.request(
                    call.method,
                    call.path,
                    params=call.params,
                    json=call.json,
                    data=call.data,
                    files=call.files,
                )
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise ClientError(f"cannot reach omnidex: {exc}") from exc
            else:
                if response.status_code not in RETRY_STATUSES - allow or attempt >= self.retries:
                    if response.status_code not in allow:
                        raise_for_error(response.status_code, response.content)
                    return response
            await asyncio.sleep(BACKOFF_SECONDS * 2**attempt)
        raise AssertionError("unreachable")


def _size(handle: IO[bytes]) -> int:
    try:
        position = handle.tell()
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(position)
        return size - position
    except (OSError, ValueError):
        return 0
