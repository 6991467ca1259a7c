"""Alembic migrations of the metadata database (SQLite and PostgreSQL alike)."""
