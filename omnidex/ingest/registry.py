"""The partitioners, one per kind of file: adding a modality is one module plus one line here.

The first partitioner that claims a MIME type reads it. ``register`` adds one
at run time (a plugin, a test) ahead of the built-in ones.
"""

from __future__ import annotations

from omnidex.ingest.audio import AudioPartitioner
from omnidex.ingest.documents import DocumentPartitioner
from omnidex.ingest.images import ImagePartitioner
from omnidex.ingest.partition import Partitioner
from omnidex.ingest.video import VideoPartitioner

PARTITIONERS: list[Partitioner] = [
    DocumentPartitioner(),
    ImagePartitioner(),
    VideoPartitioner(),
    AudioPartitioner(),
]


def register(partitioner: Partitioner) -> None:
    """Read the partitioner's MIME types (and suffixes) with it from now on."""
    PARTITIONERS.insert(0, partitioner)


def unregister(partitioner: Partitioner) -> None:
    PARTITIONERS.remove(partitioner)


def for_mime(mime: str) -> Partitioner | None:
    return next((p for p in PARTITIONERS if mime in p.mimes), None)


def suffix_mime(suffix: str) -> str | None:
    """The MIME type a partitioner gives plain text with this file-name suffix (".md"), if any."""
    return next((p.suffixes[suffix] for p in PARTITIONERS if suffix in p.suffixes), None)


def description(mime: str) -> str | None:
    return next((p.mimes[mime] for p in PARTITIONERS if mime in p.mimes), None)


def supported_summary() -> str:
    return "; ".join(p.summary for p in PARTITIONERS)
