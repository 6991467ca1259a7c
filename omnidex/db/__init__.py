"""Metadata database: documents, items, API keys and the durable job queue in the same tables.

A service: every SQL statement of omnidex lives here. Imports only the floor.
"""

from omnidex.db.engine import Database

__all__ = ["Database"]
