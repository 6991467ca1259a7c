"""Talk or think: which model answers a question, and how a reasoned answer is spoken.

``talk`` is the Instruct model: it writes and speaks at once. ``think`` is the
reasoning model: it reasons first (shown apart, never part of the answer) and
writes; when speech is asked for, the Instruct model then reads the final answer
aloud. ``auto`` thinks when the question compares or adds up and its sources
come from two or more documents; everything else is a lookup, and talks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from omnidex.answering.citations import without_marks
from omnidex.answering.prompts import READ_ALOUD, with_language
from omnidex.generation.base import Message, TextPart
from omnidex.types import Hit

# Words of comparing, ranking, adding up or change over time: what a lookup does not ask.
_COMPARING = re.compile(
    r"\b(?:compar\w*|differ\w*|versus|vs\.?|which of|whichever|larger|smaller|bigger|higher|lower|"
    r"greater|fewer|more than|less than|better|worse|both|either|neither|in common|total|sum|"
    r"average|combined|altogether|overall|rise|rose|fall|fell|increase\w*|decrease\w*|grow\w*|"
    r"chang\w*|trend\w*|ratio|by how much|how much more|how many more|contrast\w*|similar\w*|"
    r"agree\w*|disagree\w*|contradict\w*|than|more|less|most|least|which\b[^?]*\bor)\b",
    re.IGNORECASE,
)


def pick_mode(requested: str, question: str, hits: Sequence[Hit]) -> str:
    """``requested``, with ``auto`` settled: think for a comparison across documents, else talk."""
    if requested != "auto":
        return requested
    documents = {hit.doc_id for hit in hits}
    return "think" if len(documents) >= 2 and _COMPARING.search(question) else "talk"


def read_aloud(answer: str, language: str | None) -> list[Message]:
    """What the Instruct model is asked in order to speak a reasoned answer."""
    return [
        Message("system", [TextPart(with_language(READ_ALOUD, language))]),
        Message("user", [TextPart(without_marks(answer))]),
    ]
