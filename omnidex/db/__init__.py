"""Metadata database: documents, items, and the durable job queue in the same tables."""

from omnidex.db.engine import Database

__all__ = ["Database"]
