"""Counts across every tenant, for operations: documents by status, items by modality."""

from __future__ import annotations

from sqlalchemy import func, select

from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow, ItemRow


def documents_by_status(db: Database) -> dict[str, int]:
    with db.session() as session:
        rows = session.execute(select(DocumentRow.status, func.count()).group_by(DocumentRow.status))
        return {str(status): int(count) for status, count in rows}


def items_by_modality(db: Database) -> dict[str, int]:
    with db.session() as session:
        rows = session.execute(select(ItemRow.modality, func.count()).group_by(ItemRow.modality))
        return {str(modality): int(count) for modality, count in rows}
