"""Blobs: uploaded originals kept by their SHA-256, and the files derived from each document.

``base`` is the seam (``BlobStore``), ``local`` a folder, ``s3`` a bucket with a
local cache. Imports only the floor (``config``, ``errors``, ``types``).
"""

from __future__ import annotations

from pathlib import Path

from omnidex.blobs.base import Blob, BlobStore, BlobWriter
from omnidex.blobs.local import LocalBlobStore, LocalBlobWriter


def make_blob_store(url: str | None, local_root: Path, endpoint_url: str | None = None) -> LocalBlobStore:
    """The data dir's blob folder, or an S3 bucket (``s3://bucket/prefix``) cached in it."""
    if not url:
        return LocalBlobStore(local_root)
    from omnidex.blobs.s3 import S3BlobStore

    return S3BlobStore(url, local_root, endpoint_url=endpoint_url)


__all__ = ["Blob", "BlobStore", "BlobWriter", "LocalBlobStore", "LocalBlobWriter", "make_blob_store"]
