"""Streaming multipart uploads: each file part goes straight into the blob store.

Starlette's form parser would buffer every file to a temporary file before
the route runs; parsing the stream ourselves writes each part once, hashes it
on the way and stops at the size limit as soon as it is passed (413).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from omnidex.blobs import Blob, BlobStore, BlobWriter
from omnidex.errors import InvalidRequest, OmnidexError, PayloadTooLarge, UnsupportedMediaType

MAX_SOURCE_CHARS = 1024
MAX_NAME_CHARS = 255
_EXTENDED = re.compile(r"filename\*\s*=\s*([^;]+)", re.IGNORECASE)


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


async def receive_files(
    request: Request, blobs: BlobStore, max_bytes: int, done: list[UploadedFile], max_files: int = 100
) -> None:
    """Store every file part of a multipart request, appending each to ``done`` as it completes.

    Raises on a malformed, empty or oversized body, or on more than ``max_files`` files; the
    files already in ``done`` are then the caller's to discard.
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
        raw = state.headers.get(b"content-disposition", b"")
        _, disposition = parse_options_header(raw)
        filename = extended_filename(raw) or disposition.get(b"filename", b"").decode("utf-8", "replace")
        if filename or b"filename" in disposition:
            if len(done) >= max_files:
                limit = f"more than {max_files} files in one request (OMNIDEX_MAX_FILES_PER_UPLOAD)"
                raise PayloadTooLarge(f"{limit}: send them in parts")
            state.name = clean_filename(filename)
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
        if state.writer is not None:  # a file part that never ended: the body was cut off
            raise InvalidRequest("the upload was cut off before its last file ended; send it again")
    except BaseException as exc:
        if state.writer is not None:
            state.writer.abort()
        if isinstance(exc, OmnidexError | ClientDisconnect) or not isinstance(exc, Exception):
            raise
        raise InvalidRequest(f"malformed multipart body: {exc}") from exc
    if not done:
        raise InvalidRequest("the request has no files: send them as multipart form fields named 'files'")


def extended_filename(disposition: bytes) -> str | None:
    """The ``filename*`` of a Content-Disposition (RFC 5987: ``UTF-8''%E2%82%AC%20rates.pdf``),
    which browsers and clients send for names beyond ASCII; None where there is none."""
    found = _EXTENDED.search(disposition.decode("latin-1"))
    if found is None:
        return None
    charset, _, encoded = found.group(1).strip().strip('"').partition("'")
    encoded = encoded.partition("'")[2]
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, UnicodeDecodeError):
        return None


def clean_source(raw: str) -> str:
    """A document's source as its uploader names it (a path, a URL), without control characters."""
    source = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C").strip()
    if not source:
        raise InvalidRequest("`source` is empty")
    return source


def clean_filename(raw: str) -> str:
    """A display name: the last path component, without control characters, bounded in length."""
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:MAX_NAME_CHARS] or "unnamed"
