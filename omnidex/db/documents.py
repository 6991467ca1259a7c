"""Documents and their items: create (with dedup), read, list, delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow, ItemRow, utcnow
from omnidex.errors import Conflict, NotFound
from omnidex.types import DocStatus, Item, ItemKind, point_id


@dataclass(frozen=True, slots=True)
class NewDocument:
    tenant: str
    name: str
    mime: str | None
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Created:
    document: DocumentRow
    duplicate: bool


def create_document(db: Database, new: NewDocument) -> Created:
    """Insert a queued document, or return the tenant's existing one with the same bytes.

    The row is the job: inserting it is enqueuing it, in the same transaction.
    A failed duplicate is queued again, since uploading it again means "try again".
    """
    existing = _find_by_hash(db, new.tenant, new.sha256)
    if existing is not None:
        return Created(_requeue_if_failed(db, existing), duplicate=True)
    row = DocumentRow(
        id=uuid.uuid4().hex,
        tenant=new.tenant,
        name=new.name,
        mime=new.mime,
        size=new.size,
        sha256=new.sha256,
        status=DocStatus.QUEUED,
        progress=0.0,
        item_count=0,
        attempts=0,
    )
    try:
        with db.session() as session:
            session.add(row)
    except IntegrityError:
        # Another upload of the same bytes won the race.
        existing = _find_by_hash(db, new.tenant, new.sha256)
        if existing is None:
            raise
        return Created(existing, duplicate=True)
    return Created(row, duplicate=False)


def _find_by_hash(db: Database, tenant: str, sha256: str) -> DocumentRow | None:
    with db.session() as session:
        stmt = select(DocumentRow).where(DocumentRow.tenant == tenant, DocumentRow.sha256 == sha256)
        return session.scalars(stmt).first()


def _requeue_if_failed(db: Database, row: DocumentRow) -> DocumentRow:
    if row.status != DocStatus.FAILED:
        return row
    with db.session() as session:
        fresh = session.get(DocumentRow, row.id)
        if fresh is None:
            return row
        fresh.status = DocStatus.QUEUED
        fresh.progress = 0.0
        fresh.error = None
        fresh.error_code = None
        fresh.stage = None
        fresh.attempts = 0
        return fresh


def get_document(db: Database, tenant: str, doc_id: str) -> DocumentRow:
    """The tenant's document; another tenant's id is as unknown as a made-up one."""
    with db.session() as session:
        row = session.get(DocumentRow, doc_id)
        if row is None or row.tenant != tenant:
            raise NotFound(f"no document {doc_id!r}")
        return row


def list_documents(
    db: Database,
    tenant: str,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[DocumentRow]:
    with db.session() as session:
        stmt = select(DocumentRow).where(DocumentRow.tenant == tenant)
        if status:
            stmt = stmt.where(DocumentRow.status == status)
        stmt = stmt.order_by(DocumentRow.created_at.desc()).limit(limit).offset(offset)
        return session.scalars(stmt).all()


def count_items_by_modality(db: Database, doc_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """``{doc_id: {modality: count}}`` for the given documents."""
    if not doc_ids:
        return {}
    with db.session() as session:
        stmt = (
            select(ItemRow.doc_id, ItemRow.modality, func.count())
            .where(ItemRow.doc_id.in_(doc_ids))
            .group_by(ItemRow.doc_id, ItemRow.modality)
        )
        counts: dict[str, dict[str, int]] = {doc_id: {} for doc_id in doc_ids}
        for doc_id, modality, count in session.execute(stmt):
            counts[doc_id][modality] = count
        return counts


def get_item(db: Database, tenant: str, item_id: str) -> tuple[ItemRow, DocumentRow]:
    """An item and its document; another tenant's item is as unknown as a made-up one."""
    with db.session() as session:
        item = session.get(ItemRow, item_id)
        doc = session.get(DocumentRow, item.doc_id) if item is not None else None
        if item is None or doc is None or doc.tenant != tenant:
            raise NotFound(f"no item {item_id!r}")
        return item, doc


def list_items(db: Database, tenant: str, doc_id: str) -> tuple[DocumentRow, list[ItemRow]]:
    """A document and its items in reading order: by page, then by time."""
    with db.session() as session:
        doc = session.get(DocumentRow, doc_id)
        if doc is None or doc.tenant != tenant:
            raise NotFound(f"no document {doc_id!r}")
        query = select(ItemRow).where(ItemRow.doc_id == doc_id)
        rows = list(session.scalars(query))
    rows.sort(key=lambda row: (row.page or 0, row.start or row.t or 0.0, row.key))
    return doc, rows


def keyframes_between(db: Database, doc_id: str, start: float, end: float) -> list[ItemRow]:
    """A video's keyframes from ``start`` to ``end`` seconds, in time order."""
    with db.session() as session:
        query = (
            select(ItemRow)
            .where(ItemRow.doc_id == doc_id, ItemRow.kind == ItemKind.KEYFRAME)
            .where(ItemRow.t >= start, ItemRow.t <= end)
            .order_by(ItemRow.t)
        )
        return list(session.scalars(query))


def delete_document(db: Database, tenant: str, doc_id: str) -> DocumentRow:
    """Remove the row and its items; returns the row so the caller can clean vectors and blobs."""
    with db.session() as session:
        row = session.get(DocumentRow, doc_id)
        if row is None or row.tenant != tenant:
            raise NotFound(f"no document {doc_id!r}")
        session.execute(delete(ItemRow).where(ItemRow.doc_id == doc_id))
        session.delete(row)
        return row


def retry_document(db: Database, tenant: str, doc_id: str) -> DocumentRow:
    """Queue a failed document again, as if just uploaded; raises NotFound or Conflict."""
    with db.session() as session:
        row = session.get(DocumentRow, doc_id)
        if row is None or row.tenant != tenant:
            raise NotFound(f"no document {doc_id!r}")
        if row.status != DocStatus.FAILED:
            raise Conflict(f"only a failed document can be tried again; this one is {row.status}")
        row.status = DocStatus.QUEUED
        row.progress = 0.0
        row.stage = None
        row.error = row.error_code = None
        row.attempts = 0
        row.updated_at = utcnow()
        session.flush()
        return row


def sha256_in_use(db: Database, sha256: str) -> bool:
    """Whether any document, of any tenant, still points at these bytes."""
    with db.session() as session:
        stmt = select(func.count()).select_from(DocumentRow).where(DocumentRow.sha256 == sha256)
        return bool(session.scalar(stmt))


def ready_documents(db: Database, since: datetime | None = None) -> list[DocumentRow]:
    """Every tenant's ready documents (those updated since ``since``), oldest first."""
    wanted = [DocumentRow.status == DocStatus.READY]
    if since is not None:
        wanted.append(DocumentRow.updated_at >= since)
    with db.session() as session:
        query = select(DocumentRow).where(*wanted).order_by(DocumentRow.created_at, DocumentRow.id)
        return list(session.scalars(query))


def document_ids(db: Database) -> set[str]:
    """The ids of every tenant's documents."""
    with db.session() as session:
        return set(session.scalars(select(DocumentRow.id)))


def items_of(db: Database, doc_id: str) -> list[ItemRow]:
    """A document's items in key order, whatever its tenant."""
    with db.session() as session:
        return list(session.scalars(select(ItemRow).where(ItemRow.doc_id == doc_id).order_by(ItemRow.key)))


def caption_tokens(items: Sequence[ItemRow]) -> int:
    """Tokens the captioner used on these items."""
    return sum(int((item.extra or {}).get("caption_tokens", 0)) for item in items)


def caption_notes(items: Sequence[ItemRow]) -> list[str] | None:
    """What could not be done for the document's items, each reason once, with how often."""
    failed: dict[str, int] = {}
    for item in items:
        if reason := (item.extra or {}).get("caption_error"):
            failed[reason] = failed.get(reason, 0) + 1
    notes = [f"{count} caption{'s' if count > 1 else ''} failed: {why}" for why, count in failed.items()]
    return notes or None


def save_item_extras(db: Database, items: Sequence[tuple[str, Item]]) -> None:
    """Keep these (document id, item)'s extra payload (new captions), and their documents'
    caption tokens and notes."""
    with db.session() as session:
        for doc_id, item in items:
            session.execute(
                update(ItemRow)
                .where(ItemRow.id == point_id(doc_id, item.key))
                .values(extra=item.extra or None)
            )
        for doc_id in {doc_id for doc_id, _ in items}:
            rows = list(session.scalars(select(ItemRow).where(ItemRow.doc_id == doc_id)))
            session.execute(
                update(DocumentRow)
                .where(DocumentRow.id == doc_id)
                .values(caption_tokens=caption_tokens(rows), notes=caption_notes(rows))
            )


def blob_hashes(db: Database) -> set[str]:
    """The SHA-256 of every document's bytes, of every tenant."""
    with db.session() as session:
        return set(session.scalars(select(DocumentRow.sha256)))
