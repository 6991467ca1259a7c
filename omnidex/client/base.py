"""What the sync and async clients share: requests as data, server errors as exceptions, SSE parsing."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
from pydantic import BaseModel

from omnidex import errors
from omnidex.schemas import ANSWER_EVENTS, AnswerEvent

DEFAULT_URL = "http://127.0.0.1:8000"
RETRY_STATUSES = {502, 503, 504}
BACKOFF_SECONDS = 0.5
Media = str | Path | bytes
Progress = Callable[[str, int, int], None]  # (file name, bytes sent, total bytes)
Model = TypeVar("Model", bound=BaseModel)

# Every server error code, mapped back to its exception class.
_BY_CODE: dict[str, type[errors.OmnidexError]] = {}


def _collect(cls: type[errors.OmnidexError]) -> None:
    _BY_CODE.setdefault(cls.code, cls)
    for sub in cls.__subclasses__():
        _collect(sub)


_collect(errors.OmnidexError)
_BY_STATUS = {400: errors.InvalidRequest, 404: errors.NotFound, 413: errors.PayloadTooLarge,
              415: errors.UnsupportedMediaType, 422: errors.InvalidRequest, 502: errors.GeneratorError,
              503: errors.Unavailable}  # fmt: skip


class ClientError(errors.OmnidexError):
    """The server could not be reached, or answered with something that is not omnidex."""

    code = "client_error"


def raise_for_error(status: int, body: bytes) -> None:
    """Raise the omnidex exception behind an error response: its ``code`` and ``message`` kept."""
    if status < 400:
        return
    try:
        error = json.loads(body)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "", body.decode("utf-8", "replace")[:300] or f"HTTP {status}"
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status) or errors.OmnidexError
    exc = cls(message)
    exc.code = code or cls.code
    exc.status = status
    raise exc


@dataclass(slots=True)
class Call:
    """One HTTP request, ready for either client, and how to read its answer."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes]] | None = None


def search_call(
    endpoint: str,
    query: str | None,
    image: Media | None,
    audio: Media | None,
    fields: dict[str, Any],
) -> Call:
    """A search or answer: JSON for words, a multipart form when a picture or a recording comes along."""
    fields = {key: value for key, value in fields.items() if value not in (None, [], ())}
    if image is None and audio is None:
        return Call("POST", endpoint, json={"query": query, **fields})
    files = {
        name: _file(media, name) for name, media in (("image", image), ("audio", audio)) if media is not None
    }
    data: dict[str, Any] = {key: _form_value(value) for key, value in fields.items()}
    if query:
        data["query"] = query
    return Call("POST", endpoint, data=data, files=files)


def _form_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return str(value)


def _file(media: Media, name: str) -> tuple[str, bytes]:
    if isinstance(media, bytes):
        return name, media
    path = Path(media)
    return path.name, path.read_bytes()


def upload_name(source: str | Path | IO[bytes]) -> str:
    if isinstance(source, str | Path):
        return Path(source).name
    return Path(getattr(source, "name", "upload")).name


def content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class Counting:
    """A file read in chunks for an upload, telling ``progress`` how far it got."""

    def __init__(self, handle: IO[bytes], name: str, total: int, progress: Progress | None) -> None:
        self.handle = handle
        self.name = name
        self.total = total
        self.sent = 0
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.sent += len(chunk)
        if self.progress is not None and chunk:
            self.progress(self.name, self.sent, self.total)
        return chunk


class SseBlocks:
    """Assembles server-sent events from lines: ``feed`` returns (name, data) when one ends."""

    def __init__(self) -> None:
        self.name = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            block = (self.name, "\n".join(self.data)) if self.data else None
            self.name, self.data = "message", []
            return block
        if line.startswith("event:"):
            self.name = line[6:].strip()
        elif line.startswith("data:"):
            self.data.append(line[5:].lstrip())
        return None


def sse_blocks(lines: Iterable[str]) -> Iterable[tuple[str, str]]:
    """(event name, data) for each server-sent event in a stream of lines."""
    blocks = SseBlocks()
    for line in lines:
        if block := blocks.feed(line):
            yield block


async def asse_blocks(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """The async twin of :func:`sse_blocks`."""
    blocks = SseBlocks()
    async for line in lines:
        if block := blocks.feed(line):
            yield block


def answer_call(
    query: str | None,
    image: Media | None,
    audio: Media | None,
    fields: dict[str, Any],
    *,
    stream: bool = False,
) -> Call:
    """A ``/v1/answer`` request: the search fields plus the generation options."""
    return search_call("/v1/answer", query, image, audio, {**fields, "stream": stream or None})


def answer_event(name: str, data: str) -> AnswerEvent | None:
    model = ANSWER_EVENTS.get(name)
    if model is None:
        return None
    event: AnswerEvent = model.model_validate_json(data)  # type: ignore[assignment]
    return event


def parse(model: type[Model], response: httpx.Response) -> Model:
    return model.model_validate_json(response.content)


def ids_of(documents: Sequence[Any]) -> list[str]:
    return [doc if isinstance(doc, str) else doc.id for doc in documents]
