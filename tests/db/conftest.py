"""These tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.conftest import both_databases


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return both_databases(request)
