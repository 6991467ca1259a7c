"""A new modality is one partitioner plus one registry line: SubRip subtitles, registered here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import pytest

from omnidex.db import documents
from omnidex.ingest import registry
from omnidex.ingest.intake import add_file
from omnidex.ingest.partition import Source
from omnidex.ingest.worker import Worker
from omnidex.runtime import Runtime
from omnidex.types import DocStatus, Item, ItemKind, Modality

CUE_TIME = re.compile(r"(\d+):(\d+):(\d+)[,.](\d+)")
SUBTITLES = """1
00:00:01,000 --> 00:00:04,500
Welcome aboard the night ferry to Kittiwake Island.

2
00:00:12,250 --> 00:00:16,000
The galley serves hot chestnut soup until midnight.

3
00:00:30,000 --> 00:00:33,750
Life jackets are stowed beneath every bench on the upper deck.
"""


def _seconds(stamp: str) -> float:
    hours, minutes, seconds, millis = (int(part) for part in CUE_TIME.fullmatch(stamp).groups())  # type: ignore[union-attr]
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


class SubtitlePartitioner:
    """Each cue of an .srt file as a timed text item."""

    name = "subtitles"
    modality = Modality.TEXT
    mimes = MappingProxyType({"application/x-subrip": "SubRip subtitles"})
    suffixes = MappingProxyType({".srt": "application/x-subrip"})
    summary = "SRT subtitles"
    nothing_found = "no subtitles were found"

    def items(self, source: Source) -> Iterator[tuple[Item, float]]:
        cues = source.path.read_text().strip().split("\n\n")
        for index, cue in enumerate(cues):
            _, times, *lines = cue.splitlines()
            start, end = (_seconds(part.strip()) for part in times.split("-->"))
            item = Item(
                f"cue-{index:05d}", Modality.TEXT, ItemKind.CHUNK, " ".join(lines), start=start, end=end
            )
            yield item, (index + 1) / len(cues)


@pytest.fixture
def subtitles() -> Iterator[SubtitlePartitioner]:
    partitioner = SubtitlePartitioner()
    registry.register(partitioner)
    yield partitioner
    registry.unregister(partitioner)


def test_a_registered_modality_is_indexed_and_found(
    subtitles: SubtitlePartitioner, runtime: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "ferry.srt"
    path.write_text(SUBTITLES)
    doc_id = add_file(runtime.db, runtime.blobs, path, "default").document.id
    Worker(runtime.db, runtime.pipeline).run_once()
    row = documents.get_document(runtime.db, "default", doc_id)
    assert (row.status, row.mime, row.item_count) == (DocStatus.READY, "application/x-subrip", 3)

    [top, *_] = runtime.retriever.search("default", "where are the life jackets kept?", top_k=3).hits
    assert (top.source, top.start, top.end) == ("ferry.srt", 30.0, 33.75)
    assert "upper deck" in top.text


def test_without_its_partitioner_the_type_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "ferry.srt"
    path.write_text(SUBTITLES)
    doc_id = add_file(runtime.db, runtime.blobs, path, "default").document.id
    Worker(runtime.db, runtime.pipeline).run_once()
    row = documents.get_document(runtime.db, "default", doc_id)
    assert row.status == DocStatus.FAILED
    assert "unsupported file type application/x-subrip" in (row.error or "")
    assert "SRT" not in (row.error or "")
