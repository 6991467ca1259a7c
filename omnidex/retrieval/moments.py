"""The moment that answers: a speech hit narrowed to its best sentence, speech hits ranked by it.

A speech item is up to 30 s of talk; each of its sentences keeps a text vector
(``omnidex.ingest.pipeline.sentence_texts``): the sentence alone, and with the one
before it. The question's text vector picks the best sentence, which becomes the
hit's start/end (the item's span stays in item_start/item_end), and how well it
matches reorders the speech hits among the places they hold in the fused list: a
recording whose one sentence answers beats one that is vaguely about the topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from omnidex.encoders.compact import unpack_vectors
from omnidex.retrieval.hits import reorder
from omnidex.retrieval.relevance import SENTENCE
from omnidex.store.base import SENTENCE_VECTORS
from omnidex.types import Hit, ItemKind, ScoredPoint


def focus(hits: list[Hit], points: Sequence[ScoredPoint], query: Sequence[float] | None) -> list[Hit]:
    """``hits`` (one per point, in fused order) with speech narrowed to its best sentence and
    reordered by it within the speech hits' places; their scores stay with the places."""
    if query is None:
        return hits
    vector = np.asarray(query, dtype=np.float32)
    matched: dict[int, float] = {}
    for place, (hit, point) in enumerate(zip(hits, points, strict=True)):
        if hit.kind is ItemKind.SPEECH and (moment := best_sentence(point.payload, vector)) is not None:
            hit.start, hit.end, matched[place] = moment
            hit.scores = {**(hit.scores or {}), SENTENCE: round(moment[2], 6)}
    return reorder(hits, sorted(matched), matched.__getitem__)


def best_sentence(payload: dict[str, Any], query: np.ndarray) -> tuple[float, float, float] | None:
    """(start, end, similarity) of the item's sentence that best matches the question's text
    vector: by the sentence alone and with the one before it, half and half."""
    sentences = payload.get("sentences") or []
    packed = payload.get(SENTENCE_VECTORS)
    if not sentences or not packed:
        return None
    vectors = unpack_vectors(packed, len(query))
    if len(vectors) != 2 * len(sentences):
        return None
    similarity = vectors @ query
    mixed = (similarity[: len(sentences)] + similarity[len(sentences) :]) / 2
    best = int(np.argmax(mixed))
    return float(sentences[best][0]), float(sentences[best][1]), float(mixed[best])
