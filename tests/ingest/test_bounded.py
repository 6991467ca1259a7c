"""Readers in child processes: a file over its time or memory budget is stopped, and so is one
whose document goes away; the next file is read as usual."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnidex.errors import CorruptFile, IngestError
from omnidex.ingest import documents
from omnidex.ingest.bounded import ParseBudget
from tests.files import make_object_storm_pdf, make_pdf

read = functools.partial(documents.partition_document, max_chars=1200, overlap=150)


class Deleted(Exception):
    pass


def hog(megabytes: int) -> int:
    """Takes ``megabytes`` of memory, a megabyte at a time (run in a reader)."""
    held = [bytearray(2**20) for _ in range(megabytes)]
    return len(held)


@pytest.fixture
def readers() -> Iterator[ParseBudget]:
    budget = ParseBudget(timeout_s=4, memory_mb=256, size=1, warm=documents.warm)
    yield budget
    budget.close()


def _pids(budget: ParseBudget) -> list[int]:
    return [child.process.pid for child in budget._idle if child.process.pid is not None]


def test_an_ordinary_file_is_read_in_a_reader(readers: ParseBudget, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "ok.pdf", [["The lighthouse keeper logged a storm."]])
    items = readers.run(read, pdf, "application/pdf", what="PDF", check=lambda: None)
    assert [item.text for item in items] == ["The lighthouse keeper logged a storm."]
    assert len(_pids(readers)) == 1, "the reader is kept warm for the next file"


def test_a_file_over_its_time_is_stopped_and_the_next_one_is_read(
    readers: ParseBudget, tmp_path: Path
) -> None:
    storm = make_object_storm_pdf(tmp_path / "storm.pdf")
    started = time.monotonic()
    with pytest.raises(IngestError) as failed:
        readers.run(read, storm, "application/pdf", what="PDF", check=lambda: None)
    took = time.monotonic() - started
    print(f"stopped after {took:.1f} s: {failed.value.message}")
    # Either the clock or the memory limit stopped it, with a reason a person can act on.
    assert "took longer than 4 s to read" in failed.value.message or "MB" in failed.value.message
    assert took < 4 + 3
    assert "/" not in failed.value.message.replace("OMNIDEX_PARSE", "")
    ok = make_pdf(tmp_path / "ok.pdf", [["Still reading after that."]])
    assert (
        readers.run(read, ok, "application/pdf", what="PDF", check=lambda: None)[0].text
        == "Still reading after that."
    )


def test_a_reader_over_its_memory_is_stopped(readers: ParseBudget) -> None:
    with pytest.raises(CorruptFile, match="needed more than 256 MB"):
        readers.run(hog, 1024, what="PDF", check=lambda: None)
    assert readers.run(hog, 16, what="PDF", check=lambda: None) == 16


def test_a_deleted_document_stops_its_reader_within_a_second(readers: ParseBudget, tmp_path: Path) -> None:
    storm = make_object_storm_pdf(tmp_path / "storm.pdf")
    readers.timeout_s = 60
    deleted_at = time.monotonic() + 1.0

    def check() -> None:
        if time.monotonic() >= deleted_at:
            raise Deleted

    with pytest.raises(Deleted):
        readers.run(read, storm, "application/pdf", what="PDF", check=check)
    assert time.monotonic() - deleted_at < 1.0
    assert _pids(readers) == [], "the stopped reader is not reused"
