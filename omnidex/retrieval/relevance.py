"""How relevant a hit is, in words a person can use: strong, weak or none.

Fused scores only rank: a question about nothing in the library still gets a
"best" hit. The raw scores say more. The text vector's cosine similarity
(MiniLM: a real answer's passage is above 0.5, an unrelated one below 0.25),
the BM25 score (a query word, stemmed, is in the text) and, for pictures found
by look, CLIP's similarity. Measured on the evaluation set (``omnidex eval``'s
58 questions, ten nonsense queries): every question's top hit is strong or weak,
and no nonsense query's top hit is strong. The limits are settings, since
another text model has other similarities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from omnidex.store.base import IMAGE_VECTOR, SPARSE_VECTOR, TEXT_VECTOR

SENTENCE = "sentence"  # a speech hit's best sentence (omnidex.retrieval.moments)
STRONG_TERMS = 10.0  # a BM25 score this high: the rare words of the question are in the text
WEAK_TERMS = 3.0  # some word of the question is in the text


@dataclass(frozen=True, slots=True)
class Relevance:
    strong: float = 0.5  # text cosine similarity
    weak: float = 0.25
    image_strong: float = 0.27  # CLIP ViT-B-32's text-to-picture similarity
    image_weak: float = 0.21

    def label(self, scores: Mapping[str, float] | None) -> str:
        scores = scores or {}
        meaning = max(scores.get(TEXT_VECTOR, -1.0), scores.get(SENTENCE, -1.0))
        terms = scores.get(SPARSE_VECTOR, 0.0)
        look = scores.get(IMAGE_VECTOR, -1.0)
        if (
            meaning >= self.strong
            or (meaning >= (self.strong + self.weak) / 2 and terms >= WEAK_TERMS)
            or (meaning >= self.weak and terms >= STRONG_TERMS)
            or look >= self.image_strong
        ):
            return "strong"
        if meaning >= self.weak or terms >= WEAK_TERMS or look >= self.image_weak:
            return "weak"
        return "none"
