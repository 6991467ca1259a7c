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
from omnidex.db.models import DocumentRow, ItemRow
from omnidex.errors import OmnidexError
from omnidex.ingest.pipeline import Pipeline
from omnidex.ingest.sniff import Sniffed

log = logging.getLogger(__name__)
# Documents of this kind are claimed several at a time, so their single
# items share encoder batches.
GROUPED_MIME_PREFIX = "image/"


class Interrupted(Exception):
    """The worker is shutting down mid-document: the job goes back to the queue."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    """Renews the leases of claimed documents in the background, so a long parse never lets one lapse."""

    def __init__(self, db: Database, doc_ids: list[str], worker_id: str, lease_seconds: float) -> None:
        self._db, self._worker_id, self._lease_seconds = db, worker_id, lease_seconds
        self._held = list(doc_ids)
        self.lost: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{doc_ids[0][:8]}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._lease_seconds / 3):
            for doc_id in [d for d in self._held if d not in self.lost]:
                try:
                    queue.heartbeat(self._db, doc_id, self._worker_id, self._lease_seconds)
                except queue.LeaseLost:
                    self.lost.add(doc_id)
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
        group_size: int = 32,
    ) -> None:
        self.db = db
        self.pipeline = pipeline
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.worker_id = worker_id or new_worker_id()
        self.on_indexed = on_indexed
        self.group_size = group_size
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
        """Claim and process the next document (with, for pictures, a few more like it).

        Returns the first document's id, or None when the queue is empty.
        """
        first = queue.claim_next_job(self.db, self.worker_id, self.lease_seconds)
        if first is None:
            return None
        group = [first]
        if (first.mime or "").startswith(GROUPED_MIME_PREFIX):
            while len(group) < self.group_size:
                more = queue.claim_next_job(
                    self.db, self.worker_id, self.lease_seconds, mime_prefix=GROUPED_MIME_PREFIX
                )
                if more is None:
                    break
                group.append(more)
        self.process(group)
        return first.id

    def process(self, docs: list[DocumentRow]) -> None:
        runnable = []
        for doc in docs:
            if doc.attempts > self.max_attempts:
                queue.fail_job(
                    self.db,
                    doc.id,
                    self.worker_id,
                    "too_many_attempts",
                    f"indexing was interrupted {doc.attempts - 1} times; giving up "
                    "(upload it again to retry)",
                )
            else:
                runnable.append(doc)
        if not runnable:
            return
        with LeaseKeeper(self.db, [d.id for d in runnable], self.worker_id, self.lease_seconds) as keeper:
            reports = {doc.id: self._reporter(doc, keeper) for doc in runnable}
            outcomes = self.pipeline.index_group(runnable, reports)
            for doc, outcome in zip(runnable, outcomes, strict=True):
                self._record(doc, outcome)

    def _reporter(self, doc: DocumentRow, keeper: LeaseKeeper) -> Callable[[float, str], None]:
        def report(progress: float, stage: str) -> None:
            if doc.id in keeper.lost:
                raise queue.LeaseLost(doc.id)
            if self._stop.is_set():
                raise Interrupted(doc.id)
            queue.heartbeat(
                self.db, doc.id, self.worker_id, self.lease_seconds, progress=progress, stage=stage
            )

        return report

    def _record(self, doc: DocumentRow, outcome: tuple[Sniffed, list[ItemRow]] | BaseException) -> None:
        if isinstance(outcome, tuple):
            sniffed, items = outcome
            try:
                # Other machines may serve its pictures as soon as it is ready.
                self.pipeline.blobs.publish_derived(doc.id)
                queue.finish_job(self.db, doc.id, self.worker_id, sniffed.mime, items)
            except queue.LeaseLost:
                self._abandon(doc)
                return
            log.info("document %s (%s) ready: %d items", doc.id, doc.name, len(items))
            if self.on_indexed is not None:
                self.on_indexed(len(items))
        elif isinstance(outcome, queue.LeaseLost):
            self._abandon(doc)
        elif isinstance(outcome, Interrupted):
            queue.release_job(self.db, doc.id, self.worker_id)
            log.info("document %s handed back to the queue", doc.id)
        else:
            self._fail(doc, outcome)

    def _fail(self, doc: DocumentRow, error: BaseException) -> None:
        if isinstance(error, OmnidexError):
            code, message = error.code, error.message
            log.info("document %s (%s) failed: %s", doc.id, doc.name, message)
        else:
            code, message = (
                "internal",
                f"internal error while indexing ({type(error).__name__}: {error})"[:500],
            )
            log.error("document %s (%s) failed unexpectedly", doc.id, doc.name, exc_info=error)
        # Whatever it stored before failing must not turn up in searches.
        self.pipeline.store.delete_document(doc.tenant, doc.id)
        self.pipeline.blobs.delete_derived(doc.id)
        queue.fail_job(self.db, doc.id, self.worker_id, code, message)

    def _abandon(self, doc: DocumentRow) -> None:
        # Deleted while we worked: our points must go too. Reclaimed by another
        # worker: it owns the points now, so leave them.
        if not queue.document_exists(self.db, doc.id):
            self.pipeline.store.delete_document(doc.tenant, doc.id)
        log.info("document %s: lease lost, dropped", doc.id)
