"""API keys: created with a secret shown once, stored as a SHA-256, checked in constant time.

A key reads ``odx_<id>_<secret>``; the id finds the row, the secret proves it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from omnidex.db.engine import Database
from omnidex.db.models import ApiKeyRow, utcnow
from omnidex.errors import InvalidRequest, NotFound

PREFIX = "odx"


class Role(StrEnum):
    READER = "reader"  # search, answer, read documents and media
    WRITER = "writer"  # also upload and delete
    ADMIN = "admin"  # also manage keys

    def allows(self, needed: Role) -> bool:
        order = [Role.READER, Role.WRITER, Role.ADMIN]
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str
    role: Role
    key_id: str | None = None


def create_key(db: Database, tenant: str, role: Role | str, name: str = "") -> tuple[ApiKeyRow, str]:
    """A new key and its secret, which is not stored and cannot be shown again."""
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidRequest(f"role must be one of {', '.join(Role)}") from exc
    if not tenant.strip():
        raise InvalidRequest("a key needs a tenant")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = ApiKeyRow(id=key_id, tenant=tenant, role=str(role), name=name, secret_sha256=_digest(secret))
    with db.session() as session:
        session.add(row)
    return row, f"{PREFIX}_{key_id}_{secret}"


def list_keys(db: Database, tenant: str | None = None) -> list[ApiKeyRow]:
    with db.session() as session:
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
        if tenant is not None:
            query = query.where(ApiKeyRow.tenant == tenant)
        return list(session.scalars(query))


def revoke_key(db: Database, key_id: str) -> ApiKeyRow:
    with db.session() as session:
        row = session.get(ApiKeyRow, key_id)
        if row is None:
            raise NotFound(f"no API key {key_id!r}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return row


def keys_exist(db: Database) -> bool:
    with db.session() as session:
        active = select(ApiKeyRow.id).where(ApiKeyRow.revoked_at.is_(None)).limit(1)
        return session.scalars(active).first() is not None


def verify(db: Database, token: str) -> Caller | None:
    """The caller a bearer token stands for, or None for a wrong, malformed or revoked key."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    with db.session() as session:
        row = session.get(ApiKeyRow, parts[1])
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_sha256, _digest(parts[2])):
        return None
    return Caller(row.tenant, Role(row.role), row.id)


class KeyCache:
    """``keys_exist`` and ``verify``, remembered for ``ttl`` seconds, so most requests cost no query.

    A key created or revoked by another process takes effect within ``ttl``.
    """

    MAX_ENTRIES = 10_000  # random tokens must not grow it without bound

    def __init__(self, db: Database, ttl: float = 5.0) -> None:
        self.db = db
        self.ttl = ttl
        self._lock = threading.Lock()
        self._exist: tuple[float, bool] = (-1.0, False)
        self._callers: dict[str, tuple[float, Caller | None]] = {}

    def keys_exist(self) -> bool:
        now = time.monotonic()
        checked, exist = self._exist
        if now - checked >= self.ttl:
            exist = keys_exist(self.db)
            self._exist = (now, exist)
        return exist

    def verify(self, token: str) -> Caller | None:
        now = time.monotonic()
        digest = _digest(token)
        with self._lock:
            found = self._callers.get(digest)
        if found is not None and now - found[0] < self.ttl:
            return found[1]
        caller = verify(self.db, token)
        with self._lock:
            if len(self._callers) >= self.MAX_ENTRIES:
                self._callers.clear()
            self._callers[digest] = (now, caller)
        return caller


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
