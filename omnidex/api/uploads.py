"""Streaming multipart uploads: each file part goes straight into the blob store.

Starlette's form parser would buffer every file to a temporary file before
the route runs; parsing the stream ourselves writes each part once, hashes it
on the way and stops at the size limit as soon as it is passed (413).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from omnidex.blobs import Blob, BlobStore, BlobWriter
from omnidex.errors import InvalidRequest, OmnidexError, UnsupportedMediaType

MAX_NAME_CHARS = 255


@dataclass(slots=True)
class UploadedFile:
    name: str
    blob: Blob


@dataclass(slots=True)
class _PartState:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_field: bytes = b""
    header_value: bytes = b""
    name: str | None = None
    writer: BlobWriter | None = None


async def receive_files(request: Request, blobs: BlobStore, max_bytes: int, done: list[UploadedFile]) -> None:
    """Store every file part of a multipart request, appending each to ``done`` as it completes.

    Raises on a malformed, empty or oversized body; the files already in
    ``done`` are then the caller's to discard.
    """
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedMediaType("upload files as multipart/form-data (e.g. curl -F files=@report.pdf)")
    state = _PartState()

    def on_part_begin() -> None:
        state.headers, state.name, state.writer = {}, None, None

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        state.headers[state.header_field.lower()] = state.header_value
        state.header_field, state.header_value = b"", b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(state.headers.get(b"content-disposition", b""))
        filename = disposition.get(b"filename")
        if filename is not None:
            state.name = clean_filename(filename.decode("utf-8", "replace"))
            state.writer = blobs.writer(max_bytes)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state.writer is not None:
            state.writer.write(data[start:end])

    def on_part_end() -> None:
        if state.writer is not None and state.name is not None:
            done.append(UploadedFile(state.name, state.writer.commit()))
            state.writer = None

    parser = MultipartParser(
        params[b"boundary"],
        callbacks={
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except BaseException as exc:
        if state.writer is not None:
            state.writer.abort()
        if isinstance(exc, OmnidexError | ClientDisconnect) or not isinstance(exc, Exception):
            raise
        raise InvalidRequest(f"malformed multipart body: {exc}") from exc
    if not done:
        raise InvalidRequest("the request has no files: send them as multipart form fields named 'files'")


def clean_filename(raw: str) -> str:
    """A display name: the last path component, without control characters, bounded in length."""
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:MAX_NAME_CHARS] or "unnamed"
