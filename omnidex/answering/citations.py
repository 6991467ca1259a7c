"""``[n]`` marks in an answer, mapped back to the hits they number."""

from __future__ import annotations

import re
from dataclasses import dataclass

from omnidex.types import Hit

# [3], [1, 4], [2; 5] — and [1][2], which is two matches.
_MARK = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")


@dataclass(slots=True)
class Citation:
    number: int
    hit: Hit


def cited_numbers(text: str) -> list[int]:
    """Each number cited in ``text``, once, in order of first appearance."""
    seen: dict[int, None] = {}
    for match in _MARK.finditer(text):
        for piece in re.split(r"[,;]", match.group(1)):
            seen.setdefault(int(piece), None)
    return list(seen)


def without_marks(text: str) -> str:
    """``text`` with its ``[n]`` marks taken out (for reading it aloud)."""
    return re.sub(r"\s*" + _MARK.pattern, "", text).strip()


def cite(text: str, sources: dict[int, Hit]) -> list[Citation]:
    """The hits the answer cites; numbers that match no source are dropped."""
    return [Citation(n, sources[n]) for n in cited_numbers(text) if n in sources]
