"""Blobs in a local (or shared, mounted) folder, content-addressed by SHA-256.

Uploads are written chunk by chunk to a temporary file while the hash and
size are computed, so memory stays bounded whatever the file's size; the
finished file is renamed to ``<root>/<aa>/<bb>/<sha256>``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from omnidex.blobs.base import Blob
from omnidex.errors import NotFound, PayloadTooLarge


class LocalBlobWriter:
    """Streams one upload into the store; raises PayloadTooLarge past ``max_bytes``."""

    def __init__(self, store: LocalBlobStore, max_bytes: int | None) -> None:
        self._store = store
        self._max_bytes = max_bytes
        self._hash = hashlib.sha256()
        self._size = 0
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix="upload-")
        self._tmp = Path(name)
        self._file = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._max_bytes is not None and self._size > self._max_bytes:
            self.abort()
            raise PayloadTooLarge(f"file is larger than the {self._max_bytes:,}-byte upload limit")
        self._hash.update(chunk)
        self._file.write(chunk)

    def commit(self) -> Blob:
        self._file.close()
        blob = Blob(self._hash.hexdigest(), self._size)
        target = self._store.local_path(blob.sha256)
        if target.exists():
            self._tmp.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._tmp, target)
        return blob

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._tmp.unlink(missing_ok=True)


class LocalBlobStore:
    """Blobs in a local (or shared, mounted) folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def writer(self, max_bytes: int | None = None) -> LocalBlobWriter:
        return LocalBlobWriter(self, max_bytes)

    def local_path(self, sha256: str) -> Path:
        """Where the blob is (or would be) in the local folder."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise NotFound(f"no blob {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def path(self, sha256: str) -> Path:
        """A local path of the blob, to read (it may not exist)."""
        return self.local_path(sha256)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError as exc:
            raise NotFound(f"no blob {sha256!r}") from exc

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        self.local_path(sha256).unlink(missing_ok=True)

    def derived_dir(self, doc_id: str) -> Path:
        """Where files made from a document live: thumbnails, keyframes, extracted pictures."""
        if not doc_id or not doc_id.isalnum():
            raise NotFound(f"no document {doc_id!r}")
        return self.root / "derived" / doc_id

    def delete_derived(self, doc_id: str) -> None:
        shutil.rmtree(self.derived_dir(doc_id), ignore_errors=True)

    def publish_derived(self, doc_id: str) -> None:
        """Make a finished document's derived files visible to every process: here they already are."""

    def put_file(self, source: Path, max_bytes: int | None = None, chunk_size: int = 1 << 20) -> Blob:
        """Copy a local file in, streaming."""
        writer = self.writer(max_bytes)
        try:
            with source.open("rb") as handle:
                while chunk := handle.read(chunk_size):
                    writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        return writer.commit()
