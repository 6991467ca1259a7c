"""Adding and removing documents: the blob, the row (which is the job), the points."""

from __future__ import annotations

from pathlib import Path

from omnidex.blobs import Blob, BlobStore, LocalBlobStore
from omnidex.db import documents
from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow
from omnidex.ingest.sniff import detect_mime, refine_mime
from omnidex.store import VectorStore


def register_upload(db: Database, blobs: BlobStore, blob: Blob, name: str, tenant: str) -> documents.Created:
    """Queue a stored blob as the tenant's document, or return the one with the same bytes."""
    mime = refine_mime(detect_mime(blobs.path(blob.sha256)), name) if blob.size else None
    return documents.create_document(
        db, documents.NewDocument(tenant=tenant, name=name, mime=mime, size=blob.size, sha256=blob.sha256)
    )


def add_file(
    db: Database, blobs: LocalBlobStore, path: Path, tenant: str, max_bytes: int | None = None
) -> documents.Created:
    """Copy a local file into the blob store and queue it."""
    blob = blobs.put_file(path, max_bytes=max_bytes)
    return register_upload(db, blobs, blob, path.name, tenant)


def remove_document(
    db: Database, store: VectorStore, blobs: BlobStore, tenant: str, doc_id: str
) -> DocumentRow:
    """Delete the document, its points and, when nothing else shares them, its bytes.

    The row goes first: a worker still indexing it then loses its lease and
    removes whatever points it wrote after this.
    """
    row = documents.delete_document(db, tenant, doc_id)
    store.delete_document(tenant, doc_id)
    blobs.delete_derived(doc_id)  # thumbnails, keyframes, pictures taken from it
    if not documents.sha256_in_use(db, row.sha256):
        blobs.delete(row.sha256)
    return row
