"""The words a document itself offers for what is said in it: names from its file name, its title
and the text on its screen, so that speech recognition hears them as they are spelled.

Whisper turns an unfamiliar name into common words ("Skerrow" becomes "Carro"); told
the name, it writes it as the document does, and search can then find it.
"""

from __future__ import annotations

import re
from pathlib import PurePath

MAX_WORDS = 40
_WORD = re.compile(r"[^\W\d_]{3,}")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_COMMON = frozenset(
    "the and for with from that this into over under about after before their there these those "
    "what when where which while will would could should have has had been being are was were "
    "your our you they them then than also only just more most some such very each every other "
    "new final draft copy video audio recording part page slide slides meeting notes".split()
)


def vocabulary(name: str, *texts: str | None) -> str | None:
    """Names likely to be said, as they are spelled: every word of the file name's stem, and the
    capitalised words of ``texts`` (a title, the text on screen); None when there are none."""
    stem = _CAMEL.sub(" ", PurePath(name).stem)
    chosen: dict[str, str] = {}
    for text in texts:
        for word in _WORD.findall(text or ""):
            if word[0].isupper():
                _add(chosen, word)
    for word in _WORD.findall(stem):
        _add(chosen, word if word[0].isupper() else word.capitalize())
    return " ".join(list(chosen.values())[:MAX_WORDS]) or None


def _add(chosen: dict[str, str], word: str) -> None:
    key = word.lower()
    if key not in _COMMON and key not in chosen:
        chosen[key] = word.capitalize() if word.isupper() and len(word) > 3 else word
