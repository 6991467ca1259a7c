"""Text files with very long lines, cut into paragraphs before the parser sees them.

unstructured reads a line as one paragraph and tokenises it whole: a one-megabyte line took
2.8 GB and 14 s here, a twenty-megabyte one would take the machine. Cut at spaces into
paragraphs of about ``WIDTH`` characters, the same text costs what any other does (flat
memory, time in proportion to its length).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

LONG_LINE = 10_000  # characters: a line longer than this is cut
WIDTH = 1_000  # characters per paragraph it is cut into


def wrapped_copy(path: Path) -> Path | None:
    """A temporary copy of the text file at ``path`` with its long lines cut into paragraphs, or
    None when it has none. The caller deletes the copy."""
    with path.open("r", encoding="utf-8", errors="replace") as source:
        if not any(len(line) > LONG_LINE for line in source):
            return None
    with (
        path.open("r", encoding="utf-8", errors="replace") as source,
        tempfile.NamedTemporaryFile("w", suffix=path.suffix, delete=False, encoding="utf-8") as target,
    ):
        for line in source:
            target.write("\n\n".join(split_line(line.rstrip("\n"))) + "\n" if len(line) > LONG_LINE else line)
    return Path(target.name)


def split_line(line: str, width: int = WIDTH) -> list[str]:
    """``line`` in pieces of at most ``width`` characters, cut at the last space before each
    limit (mid-word only where a word is longer than ``width``)."""
    pieces = []
    start = 0
    while len(line) - start > width:
        cut = line.rfind(" ", start, start + width + 1)
        cut = cut if cut > start else start + width
        pieces.append(line[start:cut].strip())
        start = cut
    pieces.append(line[start:].strip())
    return [piece for piece in pieces if piece]
