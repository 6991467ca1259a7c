"""The durable work queue: the documents table, claimed with leases.

A worker claims the oldest queued document (or one whose lease ran out) by a
single UPDATE of the row picked with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (concurrent workers pass over each other's picks instead of
waiting), and by a compare-and-set UPDATE on SQLite; either way two workers
can never both win the same row. It renews the lease with every progress
report; a report that finds the lease gone raises :class:`LeaseLost` and the
worker drops the job.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, or_, select, update

from omnidex.db.documents import caption_notes, caption_tokens
from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow, ItemRow, utcnow
from omnidex.types import DocStatus


class LeaseLost(Exception):
    """The job was reclaimed or deleted while this worker held it."""


def _claimable(now: float) -> ColumnElement[bool]:
    expired = (DocumentRow.status == DocStatus.PROCESSING) & (DocumentRow.lease_expires < now)
    return or_(DocumentRow.status == DocStatus.QUEUED, expired)


def claim_next_job(
    db: Database, worker_id: str, lease_seconds: float, *, mime_prefix: str | None = None
) -> DocumentRow | None:
    """Claim the oldest claimable document (of a MIME family, if given); None when there is none."""
    claim = _claim_locking if db.dialect == "postgresql" else _claim_compare_and_set
    return claim(db, worker_id, lease_seconds, mime_prefix)


def _claimed(worker_id: str, lease_seconds: float, now: float) -> dict[str, object]:
    return {
        "status": DocStatus.PROCESSING,
        "lease_owner": worker_id,
        "lease_expires": now + lease_seconds,
        "attempts": DocumentRow.attempts + 1,
        "error": None,
        "error_code": None,
        "updated_at": utcnow(),
    }


def _oldest(now: float, mime_prefix: str | None) -> Select[Any]:
    wanted = [_claimable(now)]
    if mime_prefix:
        wanted.append(DocumentRow.mime.startswith(mime_prefix))
    return select(DocumentRow.id).where(*wanted).order_by(DocumentRow.created_at, DocumentRow.id).limit(1)


def _claim_locking(
    db: Database, worker_id: str, lease_seconds: float, mime_prefix: str | None
) -> DocumentRow | None:
    """One round trip: lock the oldest row no one else has locked, claim it, return it."""
    now = time.time()
    pick = _oldest(now, mime_prefix).with_for_update(skip_locked=True).scalar_subquery()
    stmt = (
        update(DocumentRow)
        .where(DocumentRow.id == pick)
        .values(**_claimed(worker_id, lease_seconds, now))
        .returning(DocumentRow)
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        return session.scalars(stmt).first()


def _claim_compare_and_set(
    db: Database, worker_id: str, lease_seconds: float, mime_prefix: str | None
) -> DocumentRow | None:
    """Pick the oldest row, then claim it only if it is still claimable; SQLite has no row locks."""
    for _ in range(5):
        now = time.time()
        with db.session() as session:
            doc_id = session.scalar(_oldest(now, mime_prefix))
            if doc_id is None:
                return None
            claimed = session.execute(
                update(DocumentRow)
                .where(DocumentRow.id == doc_id, _claimable(now))
                .values(**_claimed(worker_id, lease_seconds, now))
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                return session.get(DocumentRow, doc_id)
        # Lost the race for that row to another worker: look again.
    return None


def heartbeat(
    db: Database,
    doc_id: str,
    worker_id: str,
    lease_seconds: float,
    *,
    progress: float | None = None,
    stage: str | None = None,
) -> None:
    """Renew the lease and record progress; raises LeaseLost if the job is no longer ours."""
    values: dict[str, object] = {"lease_expires": time.time() + lease_seconds, "updated_at": utcnow()}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    if stage is not None:
        values["stage"] = stage
    with db.session() as session:
        result = session.execute(update(DocumentRow).where(*_owned(doc_id, worker_id)).values(**values))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(doc_id)


def finish_job(db: Database, doc_id: str, worker_id: str, mime: str, items: Sequence[ItemRow]) -> None:
    """Record the items and mark the document ready, only if the lease is still ours."""
    with db.session() as session:
        result = session.execute(
            update(DocumentRow)
            .where(*_owned(doc_id, worker_id))
            .values(
                status=DocStatus.READY,
                mime=mime,
                progress=1.0,
                stage=None,
                item_count=len(items),
                caption_tokens=caption_tokens(items),
                notes=caption_notes(items),
                lease_owner=None,
                lease_expires=None,
                updated_at=utcnow(),
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(doc_id)
        session.execute(delete(ItemRow).where(ItemRow.doc_id == doc_id))
        session.add_all(items)


def fail_job(db: Database, doc_id: str, worker_id: str, code: str, message: str) -> None:
    """Mark the document failed with a reason a person can read."""
    with db.session() as session:
        session.execute(
            update(DocumentRow)
            .where(*_owned(doc_id, worker_id))
            .values(
                status=DocStatus.FAILED,
                stage=None,
                error=message,
                error_code=code,
                lease_owner=None,
                lease_expires=None,
                updated_at=utcnow(),
            )
        )


def document_exists(db: Database, doc_id: str) -> bool:
    with db.session() as session:
        return session.get(DocumentRow, doc_id) is not None


def release_job(db: Database, doc_id: str, worker_id: str) -> None:
    """Hand the job back to the queue untouched (a worker shutting down)."""
    with db.session() as session:
        session.execute(
            update(DocumentRow)
            .where(*_owned(doc_id, worker_id))
            # A clean hand-back is not a failed attempt.
            .values(
                status=DocStatus.QUEUED,
                attempts=DocumentRow.attempts - 1,
                lease_owner=None,
                lease_expires=None,
                updated_at=utcnow(),
            )
        )


def _owned(doc_id: str, worker_id: str) -> tuple[ColumnElement[bool], ...]:
    return (
        DocumentRow.id == doc_id,
        DocumentRow.lease_owner == worker_id,
        DocumentRow.status == DocStatus.PROCESSING,
    )
