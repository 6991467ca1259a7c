"""Alembic owns the schema, on SQLite and PostgreSQL alike: migrations match the models."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from omnidex.cli import app as cli
from omnidex.config import get_settings
from omnidex.db.engine import Database
from omnidex.db.models import Base
from omnidex.errors import ConfigError

HEAD = "0003"


@pytest.fixture
def db(database_url: str | None, tmp_path: Path) -> Iterator[Database]:
    database = Database(database_url or f"sqlite:///{tmp_path / 'omnidex.db'}")
    yield database
    database.close()


def _differences(db: Database) -> list[object]:
    with db.engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def test_a_new_database_is_migrated_to_the_models(db: Database) -> None:
    assert db.migrate() == (None, HEAD)
    assert _differences(db) == []
    assert db.migrate() == (HEAD, HEAD)  # again: nothing to do


def test_concurrent_starts_take_turns(db: Database) -> None:
    results: list[tuple[str | None, str]] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            results.append(db.migrate())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results, key=lambda r: r[0] or "") == [(None, HEAD)] + [(HEAD, HEAD)] * 3


def test_a_database_from_before_migrations_is_adopted(db: Database) -> None:
    # What an omnidex without migrations made: create_all of its models (no items.extra, no keys).
    with db.engine.begin() as connection:
        Base.metadata.create_all(connection, tables=[Base.metadata.tables["documents"]])
        for added_since in ("caption_tokens", "notes"):  # by migration 0003
            connection.execute(text(f"ALTER TABLE documents DROP COLUMN {added_since}"))
        connection.execute(
            text(
                "CREATE TABLE items (id VARCHAR(36) PRIMARY KEY, doc_id VARCHAR(32) NOT NULL "
                "REFERENCES documents(id) ON DELETE CASCADE, key VARCHAR(255) NOT NULL, "
                "modality VARCHAR(16) NOT NULL, kind VARCHAR(16) NOT NULL, page INTEGER, "
                'start FLOAT, "end" FLOAT, t FLOAT, text TEXT NOT NULL)'
            )
        )
        connection.execute(text("CREATE INDEX ix_items_doc_id ON items (doc_id)"))
    assert db.migrate() == ("0001", HEAD)
    tables = inspect(db.engine)
    assert "api_keys" in tables.get_table_names()
    assert "extra" in {column["name"] for column in tables.get_columns("items")}
    assert {"caption_tokens", "notes"} <= {column["name"] for column in tables.get_columns("documents")}


def test_a_schema_behind_is_refused_when_migrations_are_off(db: Database) -> None:
    with pytest.raises(ConfigError, match="run `omnidex migrate`"):
        db.migrate(apply=False)


def test_a_schema_from_a_newer_version_is_refused(db: Database) -> None:
    db.migrate()
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(ConfigError, match="newer version"):
        db.migrate()


def test_migrate_command(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNIDEX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OMNIDEX_DATABASE_URL", db.url)
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(cli, ["migrate"])
        again = CliRunner().invoke(cli, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0, first.output
    assert f"schema migrated from revision none to {HEAD}" in " ".join(first.output.split())
    assert f"schema is up to date (revision {HEAD})" in " ".join(again.output.split())


def test_urls_get_the_installed_driver_and_never_show_a_password() -> None:
    db = Database("postgresql://omnidex:hunter2@db.example:5432/omnidex")
    try:
        assert db.dialect == "postgresql"
        assert db.url.startswith("postgresql+psycopg://")
        assert "hunter2" not in db.safe_url
    finally:
        db.close()
