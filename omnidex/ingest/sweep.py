"""Sweeping the blob folder: what no document owns any more goes.

A document's own files go with it when it is deleted; the sweep catches what slipped past
that: temporary uploads of requests that died (a killed process leaves them), derived files
written by a worker after their document was deleted, and blobs whose row is gone. Only
files older than ``grace`` are touched, so an upload or an ingest under way is never swept.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from omnidex.blobs import LocalBlobStore
from omnidex.db import documents
from omnidex.db.engine import Database

log = logging.getLogger(__name__)
GRACE_SECONDS = 3600.0
EVERY_SECONDS = 3600.0
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Swept:
    uploads: int  # temporary files of unfinished uploads
    derived: int  # folders of derived files without a document
    blobs: int  # stored bytes without a document


def sweep(db: Database, blobs: LocalBlobStore, *, grace: float = GRACE_SECONDS) -> Swept:
    """Remove, from the local blob folder, what no document owns and is older than ``grace`` s."""
    before = time.time() - grace
    stale = [path for path in _files(blobs.tmp_dir) if _older(path, before)]
    for path in stale:
        path.unlink(missing_ok=True)
    uploads = len(stale)
    ids = documents.document_ids(db)
    derived = 0
    for folder in _folders(blobs.root / "derived"):
        if folder.name not in ids and _older(folder, before):
            blobs.delete_derived(folder.name)
            derived += 1
    hashes = documents.blob_hashes(db)
    orphans = [
        path
        for level in _folders(blobs.root)
        for sub in _folders(level)
        for path in _files(sub)
        if _SHA256.fullmatch(path.name) and path.name not in hashes and _older(path, before)
    ]
    for path in orphans:
        blobs.delete(path.name)
    if uploads or derived or orphans:
        log.info(
            "swept %d unfinished uploads, %d derived folders, %d blobs nobody owns",
            uploads,
            derived,
            len(orphans),
        )
    return Swept(uploads, derived, len(orphans))


class Sweeper:
    """Sweeps now, then every ``every`` seconds, in a thread of its own, until ``stop`` is set."""

    def __init__(
        self, db: Database, blobs: LocalBlobStore, stop: threading.Event, every: float = EVERY_SECONDS
    ) -> None:
        self.db, self.blobs, self.stop, self.every = db, blobs, stop, every
        self._thread = threading.Thread(target=self._run, name="sweep", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                sweep(self.db, self.blobs)
            except Exception:
                log.exception("sweeping the blob folder failed")
            self.stop.wait(self.every)

    def join(self) -> None:
        self._thread.join()


def _older(path: Path, before: float) -> bool:
    try:
        return path.stat().st_mtime < before
    except FileNotFoundError:
        return False


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.iterdir() if path.is_file()] if folder.is_dir() else []


def _folders(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [path for path in folder.iterdir() if path.is_dir() and path.name not in {"tmp", "derived"}]
