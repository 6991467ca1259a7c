"""Small vectors kept in a payload: unit vectors as int8, base64-encoded (dim bytes each).

A speech item keeps one such vector per sentence, to point a hit to the sentence that best
matches the question without encoding anything at query time.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np

SCALE = 127.0


def pack_vectors(vectors: Sequence[Sequence[float]]) -> str:
    """Unit-normalised ``vectors`` as one base64 string of int8 rows."""
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms > 0, norms, 1.0)
    return base64.b64encode(np.round(unit * SCALE).astype(np.int8).tobytes()).decode("ascii")


def unpack_vectors(packed: str, dim: int) -> np.ndarray:
    """The (n, dim) float32 rows of :func:`pack_vectors`, about unit length."""
    raw = np.frombuffer(base64.b64decode(packed), dtype=np.int8)
    rows: np.ndarray = raw.reshape(-1, dim).astype(np.float32) / SCALE
    return rows
