"""Type sniffing from the bytes themselves (libmagic), never trusting the name.

The name is consulted only where the bytes cannot tell: a ZIP container that
libmagic cannot open further (a truncated DOCX still reads as ZIP) and the
flavours of plain text (Markdown is plain text to libmagic), which partitioners claim by
suffix. Which types are supported is the registry's (``omnidex.ingest.registry``) to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath

from omnidex.errors import EmptyFile, MissingExtra, UnsupportedType
from omnidex.ingest import registry
from omnidex.ingest.documents import DOCX, PPTX
from omnidex.types import Modality

# libmagic's names for text it recognises, mapped to what we parse them as.
_TEXT_ALIASES = {
    "text/x-python": "text/plain",
    "text/x-script.python": "text/plain",
    "text/x-c": "text/plain",
    "text/x-tex": "text/plain",
    "application/json": "text/plain",
    "text/xml": "text/html",
    "application/xhtml+xml": "text/html",
}
_ZIP_BY_SUFFIX = {".docx": DOCX, ".pptx": PPTX}


@dataclass(frozen=True, slots=True)
class Sniffed:
    mime: str
    modality: Modality


def detect_mime(path: Path) -> str:
    """libmagic's MIME type for the file's leading bytes."""
    try:
        import magic
    except ImportError as exc:  # pragma: no cover - a base dependency
        raise MissingExtra("python-magic", "server") from exc
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    return str(magic.from_buffer(head, mime=True))


def sniff(path: Path, name: str) -> Sniffed:
    """What the file really is; raises EmptyFile or UnsupportedType with a readable reason."""
    if path.stat().st_size == 0:
        raise EmptyFile("the file is empty (0 bytes)")
    mime = refine_mime(detect_mime(path), name)
    partitioner = registry.for_mime(mime)
    if partitioner is not None:
        return Sniffed(mime, partitioner.modality)
    supported = registry.supported_summary()
    family = mime.split("/", 1)[0]
    if family in {"image", "audio", "video"}:
        raise UnsupportedType(f"this {family} format ({mime}) is not supported; supported types: {supported}")
    raise UnsupportedType(f"unsupported file type {mime} ({describe(mime)}); supported types: {supported}")


def refine_mime(mime: str, name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    if mime in {"application/zip", "application/octet-stream"} and suffix in _ZIP_BY_SUFFIX:
        # A broken Office file: let its parser say what is wrong with it.
        return _ZIP_BY_SUFFIX[suffix] if mime == "application/zip" else mime
    mime = _TEXT_ALIASES.get(mime, mime)
    if mime == "text/plain":
        return registry.suffix_mime(suffix) or mime
    return mime


def describe(mime: str) -> str:
    if mime == "application/octet-stream":
        return "unrecognised binary data"
    return registry.description(mime) or mime.split("/", 1)[-1]
