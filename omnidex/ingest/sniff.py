"""Type sniffing from the bytes themselves (libmagic), never trusting the name.

The name is consulted only where the bytes cannot tell: a ZIP container that
libmagic cannot open further (a truncated DOCX still reads as ZIP) and the
flavours of plain text (Markdown is plain text to libmagic).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath

from omnidex.errors import EmptyFile, MissingExtra, UnsupportedType
from omnidex.ingest.audio import AUDIO_MIMES
from omnidex.ingest.images import IMAGE_MIMES
from omnidex.ingest.video import VIDEO_MIMES
from omnidex.types import Modality

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

DOCUMENT_MIMES = {
    "application/pdf": "PDF",
    DOCX: "Word document",
    PPTX: "PowerPoint presentation",
    "text/html": "HTML page",
    "text/markdown": "Markdown",
    "text/plain": "plain text",
    "text/csv": "CSV",
    "message/rfc822": "e-mail",
}

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
_TEXT_BY_SUFFIX = {".md": "text/markdown", ".markdown": "text/markdown", ".csv": "text/csv"}
SUPPORTED_SUMMARY = (
    "PDF, DOCX, PPTX, HTML, Markdown, plain text, CSV, e-mail (.eml); "
    "PNG, JPEG, WebP, GIF, TIFF, BMP images; MP4, MKV, WebM, MOV, AVI videos; "
    "WAV, MP3, FLAC, Ogg/Opus, M4A/AAC, WebM audio"
)


@dataclass(frozen=True, slots=True)
class Sniffed:
    mime: str
    modality: Modality


def detect_mime(path: Path) -> str:
    """libmagic's MIME type for the file's leading bytes."""
    try:
        import magic
    except ImportError as exc:  # pragma: no cover - a base dependency
        raise MissingExtra("python-magic", "base") from exc
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    return str(magic.from_buffer(head, mime=True))


def sniff(path: Path, name: str) -> Sniffed:
    """What the file really is; raises EmptyFile or UnsupportedType with a readable reason."""
    if path.stat().st_size == 0:
        raise EmptyFile("the file is empty (0 bytes)")
    mime = refine_mime(detect_mime(path), name)
    if mime in DOCUMENT_MIMES:
        return Sniffed(mime, Modality.TEXT)
    if mime in IMAGE_MIMES:
        return Sniffed(mime, Modality.IMAGE)
    if mime in VIDEO_MIMES:
        return Sniffed(mime, Modality.VIDEO)
    if mime in AUDIO_MIMES:
        return Sniffed(mime, Modality.AUDIO)
    family = mime.split("/", 1)[0]
    if family in {"image", "audio", "video"}:
        raise UnsupportedType(
            f"this {family} format ({mime}) is not supported; supported types: {SUPPORTED_SUMMARY}"
        )
    raise UnsupportedType(
        f"unsupported file type {mime} ({describe(mime)}); supported types: {SUPPORTED_SUMMARY}"
    )


def refine_mime(mime: str, name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    if mime in {"application/zip", "application/octet-stream"} and suffix in _ZIP_BY_SUFFIX:
        # A broken Office file: let its parser say what is wrong with it.
        return _ZIP_BY_SUFFIX[suffix] if mime == "application/zip" else mime
    mime = _TEXT_ALIASES.get(mime, mime)
    if mime == "text/plain" and suffix in _TEXT_BY_SUFFIX:
        return _TEXT_BY_SUFFIX[suffix]
    return mime


def describe(mime: str) -> str:
    if mime == "application/octet-stream":
        return "unrecognised binary data"
    known = DOCUMENT_MIMES | IMAGE_MIMES | VIDEO_MIMES | AUDIO_MIMES
    return known.get(mime, mime.split("/", 1)[-1])
