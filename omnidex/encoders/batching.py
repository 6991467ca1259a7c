"""Queries that arrive together are encoded together.

Fifty clients searching at once each ask for one short text to be encoded. One by one, each
pays a whole forward pass; gathered for a few milliseconds and encoded as one batch, they
share it. ``BatchingTextEncoder`` wraps a text encoder: ``encode`` of a single text waits up
to ``window_s`` for others, and one background thread encodes what has gathered. Longer
lists (documents being indexed) go straight to the encoder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from omnidex.encoders.base import TextEncoder


class BatchingTextEncoder:
    """A TextEncoder whose single-text calls from many threads share batches."""

    def __init__(
        self,
        encoder: TextEncoder,
        *,
        window_s: float = 0.003,
        max_batch: int = 64,
        initializer: Callable[[], None] | None = None,
    ) -> None:
        """``initializer`` runs first on the encoding thread (to set torch's threads, say)."""
        self.encoder, self.window_s, self.max_batch = encoder, window_s, max_batch
        self.initializer = initializer
        self.name, self.version, self.dim = encoder.name, encoder.version, encoder.dim
        self._pending: list[tuple[str, Future[list[float]]]] = []
        self._arrived = threading.Condition()
        self._thread: threading.Thread | None = None
        self.batches = 0  # how many batches were encoded (for benchmarks and tests)

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        if len(texts) != 1:
            return self.encoder.encode(texts)
        future: Future[list[float]] = Future()
        with self._arrived:
            self._pending.append((texts[0], future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="query-batches", daemon=True)
                self._thread.start()
            self._arrived.notify()
        return [future.result()]

    def _run(self) -> None:
        if self.initializer is not None:
            self.initializer()
        while True:
            with self._arrived:
                while not self._pending:
                    self._arrived.wait()
            time.sleep(self.window_s)  # let the others arrive
            with self._arrived:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                vectors = self.encoder.encode([text for text, _ in batch])
            except BaseException as exc:  # each caller gets the error
                for _, future in batch:
                    future.set_exception(exc)
                continue
            self.batches += 1
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)
