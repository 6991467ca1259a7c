"""Building the embedded index off the request path: ``optimize()`` in a thread of its own."""

from __future__ import annotations

import logging
import threading

from omnidex.store.base import VectorStore

log = logging.getLogger(__name__)


class BackgroundOptimizer:
    """Runs ``store.optimize()`` off the request path once enough new points arrived."""

    def __init__(self, store: VectorStore, threshold: int) -> None:
        self.store = store
        self.threshold = threshold
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, points: int) -> None:
        with self._lock:
            self._pending += points
            if self._pending < self.threshold or (self._thread and self._thread.is_alive()):
                return
            self._pending = 0
            self._thread = threading.Thread(target=self._optimize, name="optimize", daemon=True)
            self._thread.start()

    def _optimize(self) -> None:
        try:
            self.store.optimize()
        except Exception:
            log.exception("optimizing the vector index failed")

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
