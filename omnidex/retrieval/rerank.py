"""The reranker stage: the top fused hits rescored by a model that reads each one's text.

Hits with text (a passage, a picture's OCR text, a transcript) are reordered by the
reranker's scores among the places they hold; pictures without text keep theirs. Each place
keeps its fused score, so scores still fall down the list. A reranker that fails or times out
leaves the fused order, and says why.
"""

from __future__ import annotations

from omnidex.encoders.rerank import Reranker
from omnidex.errors import RerankerError
from omnidex.retrieval.hits import reorder
from omnidex.types import Hit


def rerank(hits: list[Hit], query: str, reranker: Reranker, top_n: int) -> tuple[list[Hit], str | None]:
    """``hits`` with the first ``top_n`` that have text reordered by ``reranker``, and the reason
    when it failed (then the order is the fused one)."""
    places = [place for place, hit in enumerate(hits[:top_n]) if hit.text.strip()]
    if len(places) < 2:
        return hits, None
    try:
        scores = reranker.score(query, [hits[place].text for place in places])
    except RerankerError as exc:
        return hits, exc.message
    judged = dict(zip(places, scores, strict=True))
    return reorder(hits, places, judged.__getitem__), None
