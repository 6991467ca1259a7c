"""Index versions: a reindex builds the next index beside the live one, then switches to it.

On a Qdrant server the versions are collections ``<name>-<n>`` behind the
alias ``<name>`` (the switch is one atomic alias update). On the embedded
store they are shard folders ``qdrant-edge-<n>`` in the data dir, and the
file ``qdrant-edge.current`` names the live one (the switch is an atomic
rename of that file).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Protocol

from omnidex.config import Settings
from omnidex.errors import ConfigError
from omnidex.store import make_store
from omnidex.store.base import Schema, VectorStore

EDGE_FOLDER = "qdrant-edge"
EDGE_POINTER = "qdrant-edge.current"


class IndexVersions(Protocol):
    def live(self) -> str: ...
    def next_name(self) -> str: ...
    def open(self, name: str, schema: Schema) -> VectorStore: ...
    def switch(self, name: str) -> str: ...
    def drop(self, name: str) -> None: ...
    def close(self) -> None: ...


def live_edge_dir(data_dir: Path) -> Path:
    """The shard folder searches use now."""
    pointer = data_dir / EDGE_POINTER
    name = pointer.read_text().strip() if pointer.is_file() else EDGE_FOLDER
    return data_dir / name


def _number(name: str, base: str) -> int:
    match = re.fullmatch(rf"{re.escape(base)}-(\d+)", name)
    return int(match.group(1)) if match else 0


def _next(live: str, names: list[str], base: str) -> str:
    """The generation after every existing one; a half-built one above the live one is reused."""
    current = _number(live, base)
    newer = sorted((n for n in names if _number(n, base) > current), key=lambda n: _number(n, base))
    if newer:
        return newer[-1]
    return f"{base}-{max([current, *(_number(n, base) for n in names)]) + 1}"


class EdgeVersions:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def live(self) -> str:
        return live_edge_dir(self.data_dir).name

    def next_name(self) -> str:
        names = [p.name for p in self.data_dir.iterdir() if p.is_dir()]
        return _next(self.live(), names, EDGE_FOLDER)

    def open(self, name: str, schema: Schema) -> VectorStore:
        from omnidex.store.edge import EdgeStore

        return EdgeStore(self.data_dir / name, schema)

    def switch(self, name: str) -> str:
        before = self.live()
        pointer = self.data_dir / EDGE_POINTER
        staged = pointer.with_suffix(".tmp")
        staged.write_text(name)
        os.replace(staged, pointer)
        return before

    def drop(self, name: str) -> None:
        shutil.rmtree(self.data_dir / name, ignore_errors=True)

    def close(self) -> None:
        """Nothing is held open."""


class ServerVersions:
    """The generations of the configured collection on the Qdrant server."""

    def __init__(self, settings: Settings) -> None:
        from qdrant_client import QdrantClient

        from omnidex.store.server import Collections

        self.settings = settings
        if settings.qdrant_url == ":memory:":
            raise ConfigError("reindexing needs a Qdrant server or the embedded store, not :memory:")
        self._client = QdrantClient(
            url=settings.qdrant_url, api_key=settings.qdrant_api_key, check_compatibility=False
        )
        self._collections = Collections(self._client, settings.collection)

    def live(self) -> str:
        return self._collections.live()

    def next_name(self) -> str:
        base = self.settings.collection
        return _next(self.live(), self._collections.names(), base)

    def open(self, name: str, schema: Schema) -> VectorStore:
        return make_store(self.settings, schema, collection=name)

    def switch(self, name: str) -> str:
        return self._collections.switch(name)

    def drop(self, name: str) -> None:
        self._collections.drop(name)

    def close(self) -> None:
        self._client.close()


def make_versions(settings: Settings) -> IndexVersions:
    return ServerVersions(settings) if settings.qdrant_url else EdgeVersions(settings.data_dir)
