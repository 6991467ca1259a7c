"""What a partitioner is: one kind of file in, retrievable items out.

A partitioner claims MIME types (and, for text that libmagic calls plain,
file-name suffixes), and turns one stored file into items, each with the
fraction of the file read so far. It gets the document, the file and the
pipeline, whose encoders, limits and picture helper it may use. Register a
new one in ``omnidex.ingest.registry``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from omnidex.db.models import DocumentRow
from omnidex.types import Item, Modality

if TYPE_CHECKING:
    from omnidex.ingest.pipeline import Pipeline

NO_SUFFIXES: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Source:
    """One file to partition. ``check`` raises when the work should stop (the document was
    deleted, the service is stopping); a partitioner that waits long calls it now and then."""

    doc: DocumentRow
    path: Path
    mime: str
    pipeline: Pipeline
    check: Callable[[], None] = lambda: None


class Partitioner(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def modality(self) -> Modality: ...
    @property
    def mimes(self) -> Mapping[str, str]:
        """MIME type → what a person calls it ("PDF", "WAV audio")."""
        ...

    @property
    def suffixes(self) -> Mapping[str, str]:
        """File-name suffix → MIME type, for files libmagic calls text/plain (".md")."""
        ...

    @property
    def summary(self) -> str:
        """The supported formats in words, for refusals ("WAV, MP3, FLAC audio")."""
        ...

    @property
    def nothing_found(self) -> str:
        """Why a file of this kind gave no items ("no speech was heard")."""
        ...

    def items(self, source: Source) -> Iterator[tuple[Item, float]]:
        """The file's items, each with the fraction of it read so far; raises IngestError."""
        ...
