"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2…), for processes on many machines.

The bucket is the truth; the local blob folder is a cache, because the
parsers, PyAV and FFmpeg read files. An upload is hashed into a local file
and then put under ``<prefix>/<sha256>``; any process that needs
it downloads it once. A document's derived files (pictures, keyframes,
thumbnails) are written locally by the worker and published when it is
finished, ``.complete`` last, so a reader on another machine fetches them all
or none. Credentials come from the usual AWS variables and files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from omnidex.blobs.base import Blob
from omnidex.blobs.local import LocalBlobStore, LocalBlobWriter
from omnidex.errors import ConfigError, MissingExtra, NotFound

COMPLETE = ".complete"


class S3BlobWriter(LocalBlobWriter):
    def commit(self) -> Blob:
        blob = super().commit()
        store = self._store
        assert isinstance(store, S3BlobStore)
        store.upload(store.local_path(blob.sha256), store.key(blob.sha256))
        return blob


class S3BlobStore(LocalBlobStore):
    """``s3://bucket/prefix``, cached under ``cache_root``."""

    def __init__(self, url: str, cache_root: Path, *, endpoint_url: str | None = None) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ConfigError(f"the blob URL {url!r} is not s3://bucket[/prefix]")
        try:
            import boto3
        except ImportError as exc:
            raise MissingExtra("boto3", "s3") from exc
        super().__init__(cache_root)
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self._s3: Any = boto3.client("s3", endpoint_url=endpoint_url)

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def writer(self, max_bytes: int | None = None) -> S3BlobWriter:
        return S3BlobWriter(self, max_bytes)

    def path(self, sha256: str) -> Path:
        local = self.local_path(sha256)
        if not local.is_file():
            self._download(self._blob_key(sha256), local, missing_ok=True)
        return local

    def _blob_key(self, sha256: str) -> str:
        self.local_path(sha256)  # raises NotFound for anything but a SHA-256
        return self.key(sha256)

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3.head_object(Bucket=self.bucket, Key=self._blob_key(sha256))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def delete(self, sha256: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=self._blob_key(sha256))
        super().delete(sha256)

    def derived_dir(self, doc_id: str) -> Path:
        folder = super().derived_dir(doc_id)
        if (folder / COMPLETE).is_file():
            return folder
        prefix = self.key("derived", doc_id) + "/"
        names = self._list(prefix)
        if COMPLETE in names:  # published: fetch all of it, once
            for name in names:
                self._download(prefix + name, folder / name)
        return folder

    def publish_derived(self, doc_id: str) -> None:
        folder = super().derived_dir(doc_id)
        files = sorted(p for p in folder.glob("*") if p.is_file() and p.name != COMPLETE)
        prefix = self.key("derived", doc_id)
        for path in files:
            self.upload(path, f"{prefix}/{path.name}")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / COMPLETE).touch()
        self.upload(folder / COMPLETE, f"{prefix}/{COMPLETE}")

    def delete_derived(self, doc_id: str) -> None:
        prefix = self.key("derived", doc_id) + "/"
        for name in self._list(prefix):
            self._s3.delete_object(Bucket=self.bucket, Key=prefix + name)
        super().delete_derived(doc_id)

    def upload(self, path: Path, key: str) -> None:
        self._s3.upload_file(str(path), self.bucket, key)

    def _list(self, prefix: str) -> list[str]:
        names: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            names += [entry["Key"].removeprefix(prefix) for entry in page.get("Contents", [])]
        return names

    def _download(self, key: str, target: Path, *, missing_ok: bool = False) -> None:
        from botocore.exceptions import ClientError

        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="download-")
        os.close(fd)
        try:
            self._s3.download_file(self.bucket, key, name)
        except ClientError as exc:
            Path(name).unlink(missing_ok=True)
            if missing_ok and _missing(exc):
                return
            raise NotFound(f"cannot fetch {key} from s3://{self.bucket}: {exc}") from exc
        os.replace(name, target)


def _missing(error: Any) -> bool:
    """Whether a botocore ClientError says the object is not there."""
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")
