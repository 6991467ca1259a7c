"""A text file that is one long line is read as paragraphs, in bounded memory, and found."""

from __future__ import annotations

import random
from pathlib import Path

from omnidex.db import documents
from omnidex.ingest.intake import add_file
from omnidex.ingest.long_lines import WIDTH, split_line, wrapped_copy
from omnidex.ingest.worker import Worker
from omnidex.runtime import Runtime

WORDS = "river harbour lantern keeper meadow stone ember violet copper signal orchard glacier".split()
NEEDLE = "The purple giraffe repaired the lighthouse clock on Tuesday."


def _one_line(size: int) -> str:
    rng = random.Random(7)
    words = [rng.choice(WORDS) for _ in range(size // 7)]
    words.insert(len(words) // 2, NEEDLE)
    return " ".join(words)


def test_a_line_is_cut_at_spaces_into_bounded_pieces() -> None:
    line = _one_line(30_000) + " " + "x" * 2500
    pieces = split_line(line)
    assert all(len(piece) <= WIDTH for piece in pieces)
    assert "".join(pieces).replace(" ", "") == line.replace(" ", "")  # nothing lost, only cut
    assert split_line("short line") == ["short line"]


def test_only_files_with_long_lines_are_copied(tmp_path: Path) -> None:
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("a line\n" * 1000)
    assert wrapped_copy(ordinary) is None
    long = tmp_path / "long.txt"
    long.write_text("first line\n" + _one_line(50_000) + "\nlast line\n")
    copy = wrapped_copy(long)
    assert copy is not None
    try:
        lines = copy.read_text().splitlines()
        assert lines[0] == "first line"
        assert lines[-1] == "last line"
        assert max(len(line) for line in lines) <= WIDTH
    finally:
        copy.unlink()


def test_a_file_of_one_long_line_is_indexed_and_found(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    path.write_text(_one_line(300_000))  # one line, no breaks
    doc_id = add_file(runtime.db, runtime.blobs, path, "default").document.id
    Worker(runtime.db, runtime.pipeline).run_once()
    row = documents.get_document(runtime.db, "default", doc_id)
    assert row.status == "ready", row.error
    assert row.item_count > 100
    top = runtime.retriever.search("default", "who repaired the lighthouse clock?", top_k=1).hits[0]
    assert "giraffe" in top.text
