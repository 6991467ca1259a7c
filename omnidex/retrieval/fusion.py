"""Fusing the ranked lists of each vector space into one, in Python over the engine's results.

- ``rrf``: reciprocal rank fusion, ``Σ weight / (k + rank)``. Only ranks count, so a list
  where everything scores alike weighs as much as one with a clear winner.
- ``dbsf``: distribution-based score fusion (as Qdrant defines it): each list's scores are
  scaled so that its mean ± 3 standard deviations spans 0–1, then weighted and summed.
  A hit far above the others of its list (an exact name in BM25) keeps its lead.

Each vector space has a weight (``text``, ``sparse``, ``image``). Ties are broken by the
sparse (BM25) score, then by the point id, so equal queries give equal orders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from omnidex.errors import ConfigError
from omnidex.store.base import SPARSE_VECTOR
from omnidex.types import ScoredPoint

METHODS = ("rrf", "dbsf")


@dataclass(frozen=True, slots=True)
class Fusion:
    method: str = "dbsf"
    k: int = 60  # RRF's constant
    weights: Mapping[str, float] = field(default_factory=dict)  # per vector space; 1 if absent

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"unknown fusion {self.method!r}: choose one of {', '.join(METHODS)}")

    def weight(self, space: str) -> float:
        return self.weights.get(space, 1.0)


def parse_weights(text: str) -> dict[str, float]:
    """``"text=1,sparse=1.5,image=0.5"`` as a mapping; raises ConfigError."""
    weights: dict[str, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, value = part.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError as exc:
            raise ConfigError(f"a fusion weight must read name=number, not {part!r}") from exc
    return weights


def fuse(lists: Mapping[str, Sequence[ScoredPoint]], fusion: Fusion, limit: int) -> list[ScoredPoint]:
    """The ``limit`` best points over every list, each with its fused score."""
    fused: dict[str, float] = {}
    points: dict[str, ScoredPoint] = {}
    raw: dict[str, dict[str, float]] = {}
    for space, ranked in lists.items():
        weight = fusion.weight(space)
        if weight == 0 or not ranked:
            continue
        contributions = _rrf(ranked, fusion.k) if fusion.method == "rrf" else _dbsf(ranked)
        for point, value in zip(ranked, contributions, strict=True):
            fused[point.id] = fused.get(point.id, 0.0) + weight * value
            points.setdefault(point.id, point)
            raw.setdefault(point.id, {})[space] = round(point.score, 6)
    sparse = {point.id: point.score for point in lists.get(SPARSE_VECTOR, ())}
    order = sorted(fused, key=lambda pid: (-fused[pid], -sparse.get(pid, 0.0), pid))
    return [ScoredPoint(pid, round(fused[pid], 6), points[pid].payload, raw[pid]) for pid in order[:limit]]


def _rrf(ranked: Sequence[ScoredPoint], k: int) -> list[float]:
    return [1.0 / (k + rank) for rank in range(1, len(ranked) + 1)]


def _dbsf(ranked: Sequence[ScoredPoint]) -> list[float]:
    scores = [point.score for point in ranked]
    mean = sum(scores) / len(scores)
    deviation = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    if deviation == 0:
        return [0.5] * len(scores)
    low, span = mean - 3 * deviation, 6 * deviation
    return [min(1.0, max(0.0, (s - low) / span)) for s in scores]
