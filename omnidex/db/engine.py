"""Engine set-up: SQLite in WAL mode by default, PostgreSQL (or any SQLAlchemy URL) otherwise.

The schema is owned by the Alembic migrations in ``omnidex/db/migrations``;
:meth:`Database.migrate` brings a database to the newest revision, under an
advisory lock on PostgreSQL so that processes starting together take turns.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from omnidex.db.models import Base
from omnidex.errors import ConfigError, Unavailable

MIGRATIONS = Path(__file__).parent / "migrations"
# The revision a database made before migrations existed is at: its tables match it.
FIRST_REVISION = "0001"
# pg_advisory_xact_lock key of schema migrations (any constant the deployment does not use).
MIGRATION_LOCK = 7_140_221
_MIGRATING = threading.Lock()


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """An engine and its session factory; ``session()`` commits or rolls back."""

    def __init__(self, url: str) -> None:
        self.url = url = _with_driver(url)
        self.dialect = make_url(url).get_backend_name()
        self.is_sqlite = self.dialect == "sqlite"
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _tune_sqlite)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def safe_url(self) -> str:
        """The URL with its password hidden, for logs and messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def migrate(self, *, apply: bool = True) -> tuple[str | None, str]:
        """Bring the schema to the newest revision; returns (revision before, revision now).

        With ``apply=False`` nothing changes, and a schema behind this version is an error.
        """
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        script = ScriptDirectory.from_config(config)
        head = script.get_current_head()
        assert head is not None
        try:
            connection = self.engine.connect()
        except OperationalError as exc:
            raise Unavailable(f"cannot reach the database at {self.safe_url}: {exc.orig or exc}") from exc
        with self._migration_lock(), connection, connection.begin():
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            before = _revision(connection, config, script)
            if before == head:
                return before, head
            if not apply:
                raise ConfigError(
                    f"the database schema is at revision {before or 'none'} and this omnidex needs {head}: "
                    "run `omnidex migrate`"
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        return before, head

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """One migration at a time: Alembic's context is per process, and SQLite has no advisory locks."""
        with _MIGRATING:
            path = make_url(self.url).database if self.is_sqlite else None
            if not path or path == ":memory:":
                yield
                return
            with open(f"{path}.migrate.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                yield

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        """One round trip to the database; raises what the driver raises."""
        with self.session() as session:
            session.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()


def _with_driver(url: str) -> str:
    """PostgreSQL URLs without a driver get psycopg 3, the one installed."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url.removeprefix(plain)
    return url


def _revision(connection: Connection, config: Config, script: ScriptDirectory) -> str | None:
    """The database's revision; a known one, or None for an empty database."""
    current = MigrationContext.configure(connection).get_current_revision()
    if current is None and inspect(connection).has_table("documents"):
        # Made by an omnidex from before migrations: complete it to the first revision, say so.
        Base.metadata.create_all(connection)
        config.attributes["connection"] = connection
        command.stamp(config, FIRST_REVISION)
        return FIRST_REVISION
    if current is not None:
        try:
            script.get_revision(current)
        except Exception as exc:
            raise ConfigError(
                f"the database schema is at revision {current}, which this omnidex does not know: "
                "it was migrated by a newer version; run that version"
            ) from exc
    return current
