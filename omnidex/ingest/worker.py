"""The worker loop: claim a document, index it under a renewed lease, record the outcome.

``omnidex serve`` runs a few of these as threads next to the API (the
embedded stores belong to one process); ``omnidex worker`` runs one alone.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from omnidex.db import queue
from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow
from omnidex.errors import OmnidexError
from omnidex.ingest.pipeline import Pipeline

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """The worker is shutting down mid-document: the job goes back to the queue."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    """Renews a lease in the background, so a long parse never lets it lapse."""

    def __init__(self, db: Database, doc_id: str, worker_id: str, lease_seconds: float) -> None:
        self._args = (db, doc_id, worker_id, lease_seconds)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{doc_id[:8]}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        db, doc_id, worker_id, lease_seconds = self._args
        while not self._stop.wait(lease_seconds / 3):
            try:
                queue.heartbeat(db, doc_id, worker_id, lease_seconds)
            except queue.LeaseLost:
                self.lost.set()
                return
            except Exception:  # a database hiccup: try again next beat
                log.warning("heartbeat for %s failed", doc_id, exc_info=True)


class Worker:
    """Processes queued documents one at a time."""

    def __init__(
        self,
        db: Database,
        pipeline: Pipeline,
        *,
        lease_seconds: float = 60.0,
        poll_seconds: float = 0.5,
        max_attempts: int = 3,
        worker_id: str | None = None,
        on_indexed: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.pipeline = pipeline
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.worker_id = worker_id or new_worker_id()
        self.on_indexed = on_indexed
        self._stop = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; a document in progress is handed back to the queue."""
        self._stop = stop
        while not stop.is_set():
            try:
                worked = self.run_once() is not None
            except Exception:
                log.exception("worker %s: unexpected error", self.worker_id)
                worked = False
            if not worked:
                stop.wait(self.poll_seconds)

    def run_once(self) -> str | None:
        """Claim and process one document; returns its id, or None when the queue is empty."""
        doc = queue.claim_next_job(self.db, self.worker_id, self.lease_seconds)
        if doc is None:
            return None
        if doc.attempts > self.max_attempts:
            queue.fail_job(
                self.db,
                doc.id,
                self.worker_id,
                "too_many_attempts",
                f"indexing was interrupted {doc.attempts - 1} times; giving up (upload it again to retry)",
            )
            return doc.id
        self.process(doc)
        return doc.id

    def process(self, doc: DocumentRow) -> None:
        with LeaseKeeper(self.db, doc.id, self.worker_id, self.lease_seconds) as keeper:

            def report(progress: float, stage: str) -> None:
                if keeper.lost.is_set():
                    raise queue.LeaseLost(doc.id)
                if self._stop.is_set():
                    raise Interrupted(doc.id)
                queue.heartbeat(
                    self.db, doc.id, self.worker_id, self.lease_seconds, progress=progress, stage=stage
                )

            try:
                sniffed, items = self.pipeline.index(doc, report)
                queue.finish_job(self.db, doc.id, self.worker_id, sniffed.mime, items)
            except queue.LeaseLost:
                self._abandon(doc)
                return
            except Interrupted:
                queue.release_job(self.db, doc.id, self.worker_id)
                log.info("document %s handed back to the queue", doc.id)
                return
            except OmnidexError as exc:
                log.info("document %s (%s) failed: %s", doc.id, doc.name, exc.message)
                queue.fail_job(self.db, doc.id, self.worker_id, exc.code, exc.message)
                return
            except Exception as exc:
                log.exception("document %s (%s) failed unexpectedly", doc.id, doc.name)
                queue.fail_job(
                    self.db,
                    doc.id,
                    self.worker_id,
                    "internal",
                    f"internal error while indexing ({type(exc).__name__}: {exc})"[:500],
                )
                return
        log.info("document %s (%s) ready: %d items", doc.id, doc.name, len(items))
        if self.on_indexed is not None:
            self.on_indexed(len(items))

    def _abandon(self, doc: DocumentRow) -> None:
        # Deleted while we worked: our points must go too. Reclaimed by another
        # worker: it owns the points now, so leave them.
        if not queue.document_exists(self.db, doc.id):
            self.pipeline.store.delete_document(doc.tenant, doc.id)
        log.info("document %s: lease lost, dropped", doc.id)
