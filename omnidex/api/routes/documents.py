"""/v1/documents: upload, list, read, delete, progress events, the original file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from omnidex.api.deps import BlobsDep, DatabaseDep, SettingsDep, StoreDep, TenantDep, WriterDep
from omnidex.api.sse import SSE_HEADERS, sse_comment, sse_event
from omnidex.api.uploads import MAX_SOURCE_CHARS, UploadedFile, clean_source, receive_files
from omnidex.blobs import BlobStore
from omnidex.db import documents
from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow
from omnidex.errors import InvalidRequest, NotFound
from omnidex.ingest.intake import register_upload, remove_document
from omnidex.retrieval.hits import item_hit
from omnidex.schemas import (
    DocumentList,
    DocumentOut,
    ErrorDetail,
    ErrorResponse,
    HitOut,
    ItemList,
    UploadedDocument,
    UploadResponse,
)
from omnidex.types import DocStatus

router = APIRouter(prefix="/v1/documents", tags=["documents"])
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 404, 413, 415, 422, 503)
}
EVENT_POLL_SECONDS = 0.25
MAX_OFFSET = 10**9  # past any list; keeps the number within what databases take
KEEPALIVE_SECONDS = 15.0


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=UploadResponse, responses=ERRORS)
async def upload_documents(
    request: Request,
    db: DatabaseDep,
    blobs: BlobsDep,
    settings: SettingsDep,
    caller: WriterDep,
    source: Annotated[
        str | None,
        Query(
            max_length=MAX_SOURCE_CHARS,
            description="The name the one uploaded file keeps as its document's `source`, in place of "
            "its file name: a path in a synced folder or bucket, say (`omnidex sync` sends it).",
        ),
    ] = None,
) -> UploadResponse:
    """Upload one or more files (multipart, any field name); each is queued for indexing.

    Identical bytes already uploaded by the tenant return the existing document.
    A file over the size limit fails the whole request with 413, before it is stored.
    """
    named = clean_source(source) if source is not None else None
    received: list[UploadedFile] = []
    try:
        await receive_files(
            request, blobs, settings.max_upload_bytes, received, settings.max_files_per_upload
        )
        if named is not None and len(received) != 1:
            raise InvalidRequest("`source` names one file: upload that file alone")
    except BaseException:
        await run_in_threadpool(_discard_unregistered, db, blobs, received)
        raise
    out = []
    for upload in received:
        name = named or upload.name
        created = await run_in_threadpool(register_upload, db, blobs, upload.blob, name, caller.tenant)
        doc = created.document
        out.append(
            UploadedDocument(
                id=doc.id, name=doc.name, status=DocStatus(doc.status), duplicate=created.duplicate
            )
        )
    return UploadResponse(documents=out)


def _discard_unregistered(db: Database, blobs: BlobStore, received: list[UploadedFile]) -> None:
    for upload in received:
        if not documents.sha256_in_use(db, upload.blob.sha256):
            blobs.delete(upload.blob.sha256)


@router.get("", response_model=DocumentList)
def list_documents(
    db: DatabaseDep,
    tenant: TenantDep,
    status: Annotated[DocStatus | None, Query(description="Only documents in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DocumentList:
    """The tenant's documents, newest first."""
    rows = documents.list_documents(db, tenant, status=status, limit=limit, offset=offset)
    counts = documents.count_items_by_modality(db, [row.id for row in rows])
    return DocumentList(documents=[document_out(row, counts.get(row.id)) for row in rows])


@router.get("/{doc_id}", response_model=DocumentOut, responses=ERRORS)
def get_document(doc_id: str, db: DatabaseDep, tenant: TenantDep) -> DocumentOut:
    """Status, progress, error and item counts by modality of one document."""
    return _document_out(db, tenant, doc_id)


@router.get("/{doc_id}/items", response_model=ItemList, responses=ERRORS)
def list_document_items(doc_id: str, db: DatabaseDep, tenant: TenantDep) -> ItemList:
    """What the document was indexed as: chunks with pages, pictures, keyframes, speech segments."""
    doc, rows = documents.list_items(db, tenant, doc_id)
    return ItemList(items=[HitOut.from_hit(item_hit(row, doc.mime, doc.name)) for row in rows])


@router.delete("/{doc_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
def delete_document(
    doc_id: str, db: DatabaseDep, store: StoreDep, blobs: BlobsDep, caller: WriterDep
) -> Response:
    """Delete a document, its vectors and (when no other document shares them) its bytes."""
    remove_document(db, store, blobs, caller.tenant, doc_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{doc_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DocumentOut,
    responses={**ERRORS, 409: {"model": ErrorResponse}},
)
def retry_document(doc_id: str, db: DatabaseDep, caller: WriterDep) -> DocumentOut:
    """Try a failed document again (after the cause is fixed: a limit raised, a server back)."""
    documents.retry_document(db, caller.tenant, doc_id)
    return _document_out(db, caller.tenant, doc_id)


@router.get("/{doc_id}/file", responses=ERRORS, response_class=FileResponse)
def get_document_file(doc_id: str, db: DatabaseDep, blobs: BlobsDep, tenant: TenantDep) -> FileResponse:
    """The original file as uploaded (HTTP Range supported)."""
    row = documents.get_document(db, tenant, doc_id)
    path = blobs.path(row.sha256)
    if not path.is_file():
        raise NotFound(f"the file of document {doc_id!r} is missing")
    return FileResponse(
        path,
        media_type=row.mime or "application/octet-stream",
        filename=row.name,
        content_disposition_type="inline",
    )


@router.get("/{doc_id}/events", responses=ERRORS, response_class=StreamingResponse)
async def stream_document_events(
    doc_id: str, request: Request, db: DatabaseDep, tenant: TenantDep
) -> StreamingResponse:
    """Server-sent events: ``progress`` while the document advances, then ``ready`` or ``failed``."""
    first = await run_in_threadpool(_document_out, db, tenant, doc_id)
    return StreamingResponse(
        _events(request, db, tenant, first), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _events(request: Request, db: Database, tenant: str, doc: DocumentOut) -> AsyncIterator[str]:
    last: tuple[object, ...] | None = None
    idle = 0.0
    sequence = 0
    while True:
        state = (doc.status, doc.progress, doc.stage)
        if state != last:
            last, idle, sequence = state, 0.0, sequence + 1
            final = doc.status in (DocStatus.READY, DocStatus.FAILED)
            name = str(doc.status) if final else "progress"
            yield sse_event(name, doc.model_dump(mode="json"), sequence)
            if final:
                return
        elif idle >= KEEPALIVE_SECONDS:
            idle = 0.0
            yield sse_comment()
        await asyncio.sleep(EVENT_POLL_SECONDS)
        idle += EVENT_POLL_SECONDS
        if await request.is_disconnected():
            return
        try:
            doc = await run_in_threadpool(_document_out, db, tenant, doc.id)
        except NotFound:
            yield sse_event("deleted", {"id": doc.id}, sequence + 1)
            return


def _document_out(db: Database, tenant: str, doc_id: str) -> DocumentOut:
    row = documents.get_document(db, tenant, doc_id)
    counts = documents.count_items_by_modality(db, [row.id])
    return document_out(row, counts.get(row.id))


def document_out(row: DocumentRow, counts: dict[str, int] | None = None) -> DocumentOut:
    error = ErrorDetail(code=row.error_code or "failed", message=row.error) if row.error else None
    return DocumentOut(
        id=row.id,
        name=row.name,
        mime=row.mime,
        size=row.size,
        sha256=row.sha256,
        status=DocStatus(row.status),
        progress=round(row.progress, 4),
        stage=row.stage,
        error=error,
        item_count=row.item_count,
        items_by_modality=counts or {},
        caption_tokens=row.caption_tokens or 0,
        notes=row.notes or [],
        created_at=row.created_at.replace(tzinfo=UTC),
        updated_at=row.updated_at.replace(tzinfo=UTC),
    )
