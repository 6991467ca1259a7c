"""Where synced files come from: a folder, or an S3 bucket and prefix.

Each file is named by its ``source``: its absolute path, or ``s3://bucket/key``. That name is
what its document keeps, so the server's list of documents is the sync's whole state: nothing
is written next to the files, and a sync that stops half-way is finished by the next one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from omnidex.errors import ConfigError, MissingExtra

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceFile:
    source: str  # the name its document keeps
    size: int
    digest: Callable[[], str]  # the SHA-256 of its bytes
    fetch: Callable[[], Path]  # a local path to upload it from
    temporary: bool = False  # whether that path is a copy to remove after the upload


class Source(Protocol):
    prefix: str  # every source under it starts with this

    def files(self) -> Iterator[SourceFile]: ...


def open_source(target: str, endpoint_url: str | None = None, cache_dir: Path | None = None) -> Source:
    """A folder path, or ``s3://bucket/prefix``."""
    if target.startswith("s3://"):
        return Bucket(target, endpoint_url, cache_dir)
    folder = Path(target).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"{target} is not a folder (nor an s3://bucket/prefix)")
    return Folder(folder)


class Folder:
    """Every file under a folder but hidden ones (``.git``, ``.DS_Store``...), in name order."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.prefix = str(self.root).rstrip(os.sep) + os.sep

    def files(self) -> Iterator[SourceFile]:
        for folder, subfolders, names in os.walk(self.root):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(names):
                path = Path(folder) / name
                if name.startswith(".") or not path.is_file():
                    continue
                yield SourceFile(
                    source=str(path),
                    size=path.stat().st_size,
                    digest=lambda path=path: _sha256_of(path),  # type: ignore[misc]
                    fetch=lambda path=path: path,  # type: ignore[misc]
                )


class Bucket:
    """Every object under ``s3://bucket/prefix``. A digest means reading the object once: it is
    remembered by the object's ETag (a fingerprint of its content) in ``cache_dir``."""

    def __init__(self, url: str, endpoint_url: str | None, cache_dir: Path | None) -> None:
        try:
            import boto3
        except ImportError as exc:
            raise MissingExtra("boto3", "s3") from exc
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ConfigError(f"{url} names no bucket: write s3://bucket/prefix")
        self.bucket, self.key_prefix = bucket, prefix
        self.prefix = f"s3://{bucket}/{prefix}"
        self._s3: Any = boto3.client("s3", endpoint_url=endpoint_url)
        self._cache = _DigestCache(cache_dir, self.prefix)

    def files(self) -> Iterator[SourceFile]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.key_prefix)
        for page in pages:
            for entry in sorted(page.get("Contents", []), key=lambda e: e["Key"]):
                key = entry["Key"]
                if key.endswith("/") or Path(key).name.startswith("."):
                    continue
                yield SourceFile(
                    source=f"s3://{self.bucket}/{key}",
                    size=int(entry["Size"]),
                    digest=lambda key=key, tag=entry["ETag"]: self._digest(key, tag),  # type: ignore[misc]
                    fetch=lambda key=key: self._download(key),  # type: ignore[misc]
                    temporary=True,
                )

    def _digest(self, key: str, etag: str) -> str:
        known = self._cache.get(key, etag)
        if known is None:
            path = self._download(key)
            try:
                known = _sha256_of(path)
            finally:
                path.unlink(missing_ok=True)
            self._cache.put(key, etag, known)
        return known

    def _download(self, key: str) -> Path:
        handle, name = tempfile.mkstemp(prefix="omnidex-sync-", suffix=Path(key).suffix)
        os.close(handle)
        self._s3.download_file(self.bucket, key, name)
        return Path(name)


class _DigestCache:
    """ETag → SHA-256 of a bucket's objects, kept between syncs in one small JSON file."""

    def __init__(self, folder: Path | None, prefix: str) -> None:
        self.path = None
        if folder is not None:
            self.path = folder / f"sync-{hashlib.sha256(prefix.encode()).hexdigest()[:16]}.json"
        self._known: dict[str, list[str]] = {}
        if self.path is not None and self.path.is_file():
            try:
                self._known = json.loads(self.path.read_text())
            except ValueError:
                self._known = {}

    def get(self, key: str, etag: str) -> str | None:
        tag, digest = self._known.get(key, ("", ""))
        return digest if tag == etag and digest else None

    def put(self, key: str, etag: str, digest: str) -> None:
        self._known[key] = [etag, digest]
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self._known))


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
