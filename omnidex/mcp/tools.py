"""The MCP tools: search, answer, list_documents, get_document and upload.

Each tool is one call of the REST API through :class:`omnidex.client.AsyncClient`, so its
results are the API's (with ``media_url``s) and its errors are the API's messages, returned as
MCP tool errors. ``client_for`` gives the client for a call: over HTTP it carries the caller's
own key; over stdio, the configured one.
"""

# No ``from __future__ import annotations``: the SDK reads the tools' annotations at runtime,
# and some name what the server was built with.
import base64
import binascii
import io
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import AudioContent, CallToolResult, ContentBlock, ImageContent, TextContent
from pydantic import BaseModel, Field

import omnidex
from omnidex.client.aio import AsyncClient
from omnidex.errors import OmnidexError
from omnidex.schemas import HitOut

ClientFor = Callable[[Context], AbstractAsyncContextManager[AsyncClient]]
# The server's address as the caller reaches it, for absolute media URLs ('' keeps them relative).
PublicUrl = Callable[[Context], str]
Modality = Literal["text", "image", "audio", "video"]
MEDIA_HITS = 5  # pictures or clips attached to a search result, at most
INSTRUCTIONS = (
    "omnidex searches the user's own documents, pictures, recordings and videos. Use `search` to "
    "find passages, pictures and moments (each hit names its document, page or seconds); use "
    "`answer` for a written answer with numbered citations; `list_documents` and `get_document` "
    "show what is indexed; `upload` adds files."
)


class NamedFile(BaseModel):
    name: str = Field(description="The file name, with its extension (report.pdf, talk.mp3).")
    content_base64: str = Field(description="The file's bytes, base64-encoded.")


def build_server(
    client_for: ClientFor,
    *,
    local_files: bool,
    upload_limit: int | None = None,
    public_url: PublicUrl = lambda ctx: "",
) -> MCPServer:
    """The MCP server. ``local_files``: tools may read paths on this machine (stdio only);
    ``upload_limit``: the most bytes a base64 upload may carry (HTTP)."""
    server: MCPServer = MCPServer(
        "omnidex", instructions=INSTRUCTIONS, version=omnidex.__version__, log_level="WARNING"
    )
    where = "a path on this machine, or " if local_files else ""

    @server.tool(
        description=(
            "Search the indexed documents, pictures, recordings and videos. Give words (`query`), "
            f"or a picture or a recording ({where}base64) to search by. Each hit has its document "
            "(`source`, `doc_id`), its `page` or its `start`/`end` in seconds, its `text`, and a "
            "`media_url` to fetch the picture or clip. `include_media` also returns the pictures "
            "and clips of the first hits as image and audio content."
        )
    )
    async def search(
        ctx: Context,
        query: Annotated[str | None, Field(description="What to look for, in words.")] = None,
        image: Annotated[str | None, Field(description=f"A picture to search by: {where}base64.")] = None,
        audio: Annotated[str | None, Field(description=f"A recording to search by: {where}base64.")] = None,
        top_k: Annotated[int, Field(ge=1, le=100, description="How many hits.")] = 10,
        modalities: Annotated[list[Modality], Field(description="Only these kinds of hits.")] = [],  # noqa: B006
        documents: Annotated[list[str], Field(description="Only within these document ids.")] = [],  # noqa: B006
        include_media: Annotated[
            bool, Field(description="Attach pictures and clips of the first hits.")
        ] = False,
    ) -> CallToolResult:
        async with client_for(ctx) as client:
            found = await _call(
                client.search(
                    query,
                    image=_media(image, local_files),
                    audio=_media(audio, local_files),
                    top_k=top_k,
                    modalities=modalities,
                    doc_ids=documents,
                )
            )
            result = found.model_dump(mode="json", exclude_none=True)
            _absolute(result["hits"], public_url(ctx))
            content: list[ContentBlock] = [TextContent(type="text", text=json.dumps(result, indent=1))]
            if include_media:
                content += await _media_of(client, found.hits[:MEDIA_HITS])
        return CallToolResult(content=content, structured_content=result)

    @server.tool(
        description=(
            "Answer a question from the indexed material, in writing, with numbered citations: "
            "each citation names its document and page, or the seconds of the recording or video "
            "it comes from. Needs a generator on the server; without one, the error says so."
        )
    )
    async def answer(
        ctx: Context,
        question: Annotated[str, Field(min_length=1, description="The question, in words.")],
        top_k: Annotated[int | None, Field(ge=1, le=100, description="Passages to read.")] = None,
    ) -> dict[str, Any]:
        async with client_for(ctx) as client:
            answered = await _call(client.answer(question, top_k=top_k))
        if answered.answer is None:  # why: the generator failed, or there is none
            notices = "; ".join(notice.message for notice in answered.notices)
            raise ToolError(answered.error.message if answered.error else notices or "no answer was written")
        return {
            "answer": answered.answer,
            "citations": [{"number": c.number, **_hit(c)} for c in answered.citations],
            "notices": [n.message for n in answered.notices],
        }

    @server.tool(
        description="The indexed documents, newest first: id, name, status, items, and why one failed."
    )
    async def list_documents(
        ctx: Context,
        status: Annotated[
            Literal["queued", "processing", "ready", "failed"] | None, Field(description="Only these.")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 100,
        offset: Annotated[int, Field(ge=0)] = 0,
    ) -> dict[str, Any]:
        async with client_for(ctx) as client:
            listed = await _call(client.documents(status, limit=limit, offset=offset))
        return {"documents": [_document(d) for d in listed]}

    @server.tool(
        description="One document: its state, and its items (passages, pictures, speech and video "
        "moments) with page or seconds and text."
    )
    async def get_document(
        ctx: Context, document_id: Annotated[str, Field(description="The id from search or list_documents.")]
    ) -> dict[str, Any]:
        async with client_for(ctx) as client:
            document = await _call(client.document(document_id))
            items = await _call(client.items(document_id))
        listed = [_hit(item) for item in items.items]
        _absolute(listed, public_url(ctx))
        return {**_document(document), "items": listed}

    if local_files:

        @server.tool(
            name="upload",
            description="Index files on this machine (documents, pictures, recordings, videos) and "
            "wait until each is ready or failed; failed ones say why.",
        )
        async def upload_paths(
            ctx: Context,
            paths: Annotated[list[str], Field(min_length=1, description="Paths of files on this machine.")],
            wait_seconds: Annotated[float, Field(ge=0, le=3600)] = 600,
        ) -> dict[str, Any]:
            missing = [p for p in paths if not Path(p).expanduser().is_file()]
            if missing:
                raise ToolError(f"no such file: {', '.join(missing)}")
            async with client_for(ctx) as client:
                sent = await _call(client.upload([Path(p).expanduser() for p in paths]))
                return await _finished(client, sent, wait_seconds)

    else:

        @server.tool(
            name="upload",
            description="Index files sent as base64 (documents, pictures, recordings, videos) and "
            "wait until each is ready or failed; failed ones say why."
            + (f" At most {upload_limit:,} bytes a file." if upload_limit else ""),
        )
        async def upload_files(
            ctx: Context,
            files: Annotated[list[NamedFile], Field(min_length=1)],
            wait_seconds: Annotated[float, Field(ge=0, le=3600)] = 600,
        ) -> dict[str, Any]:
            contents = []
            for named in files:
                data = _decoded(named.content_base64, named.name)
                if upload_limit is not None and len(data) > upload_limit:
                    raise ToolError(f"{named.name} is {len(data):,} bytes; the limit is {upload_limit:,}")
                contents.append(io.BytesIO(data))
                contents[-1].name = named.name  # the name the client uploads it under
            async with client_for(ctx) as client:
                sent = await _call(client.upload(contents))
                return await _finished(client, sent, wait_seconds)

    return server


async def _call(pending: Any) -> Any:
    """The API's answer, or its error as an MCP tool error with the same message."""
    try:
        return await pending
    except OmnidexError as exc:
        raise ToolError(exc.message) from exc


async def _finished(client: AsyncClient, sent: list[Any], wait_seconds: float) -> dict[str, Any]:
    try:
        done = await client.wait(sent, timeout=wait_seconds) if wait_seconds else sent
    except TimeoutError:
        done = [await client.document(d.id) for d in sent]
    return {"documents": [_document(d) for d in done]}


def _document(document: Any) -> dict[str, Any]:
    out = document.model_dump(mode="json", exclude_none=True)
    for key in ("sha256", "updated_at"):
        out.pop(key, None)
    return out  # type: ignore[no-any-return]


def _hit(hit: HitOut) -> dict[str, Any]:
    keep = ("id", "doc_id", "source", "modality", "kind", "page", "start", "end", "t", "text", "media_url")
    dumped = hit.model_dump(mode="json")
    return {key: dumped[key] for key in keep if dumped.get(key) is not None}


def _absolute(hits: list[dict[str, Any]], base: str) -> None:
    for hit in hits:
        for key in ("media_url", "thumbnail_url"):
            if base and str(hit.get(key) or "").startswith("/"):
                hit[key] = base + hit[key]


def _media(value: str | None, local_files: bool) -> bytes | Path | None:
    """A picture or recording given as a path (where allowed) or as base64."""
    if value is None or not value.strip():
        return None
    if local_files and Path(value).expanduser().is_file():
        return Path(value).expanduser()
    return _decoded(value, "the picture or recording")


def _decoded(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ToolError(f"{what} is not valid base64 (nor a file on this machine)") from exc


async def _media_of(client: AsyncClient, hits: list[HitOut]) -> list[ContentBlock]:
    """Pictures (their thumbnails) and clips of ``hits``, as MCP content."""
    blocks: list[ContentBlock] = []
    for hit in hits:
        if hit.media_url is None:
            continue
        try:
            if hit.modality in ("image", "video"):
                data = await client.media(hit.id, thumb=True)
                blocks.append(ImageContent(type="image", data=_b64(data), mime_type="image/jpeg"))
            elif hit.modality == "audio":
                data = await client.media(hit.id)  # a WAV of just its stretch
                blocks.append(AudioContent(type="audio", data=_b64(data), mime_type="audio/wav"))
        except OmnidexError:
            continue  # the hit keeps its media_url
    return blocks


def _b64(data: bytes | Path) -> str:
    return base64.b64encode(data if isinstance(data, bytes) else data.read_bytes()).decode()
