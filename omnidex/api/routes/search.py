"""/v1/search: hybrid retrieval by words, by picture, or both."""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from functools import partial
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from omnidex.api.deps import RuntimeDep, TenantDep
from omnidex.api.schemas import ErrorResponse, HitOut, SearchRequest, SearchResponse
from omnidex.errors import InvalidRequest, PayloadTooLarge

router = APIRouter(prefix="/v1", tags=["search"])
Query = TypeVar("Query", bound=SearchRequest)
_LIST_FIELDS = {"modalities", "doc_ids"}
MAX_QUERY_MEDIA_BYTES = 32 * 1024**2
_FORM_SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "image": {"type": "string", "format": "binary"},
        "audio": {"type": "string", "format": "binary"},
        "top_k": {"type": "integer", "default": 10},
        "modalities": {"type": "array", "items": {"type": "string"}},
        "doc_ids": {"type": "array", "items": {"type": "string"}},
    },
}


@router.post(
    "/search",
    response_model=SearchResponse,
    responses={code: {"model": ErrorResponse} for code in (400, 413, 422)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SearchRequest"}},
                "multipart/form-data": {"schema": _FORM_SCHEMA},
            },
        }
    },
)
async def search(request: Request, runtime: RuntimeDep, tenant: TenantDep) -> SearchResponse:
    """The best-matching items for words (dense + BM25 + CLIP text), a picture (CLIP + its OCR text),
    a voice question (transcribed, then searched as words), or several of them.

    Send JSON (`image`, `audio` as base64) or a multipart form (`image`, `audio` as files);
    results are fused by RRF in Qdrant.
    """
    body, image, audio = await read_query(request, SearchRequest)
    started = time.perf_counter()
    search = partial(
        runtime.retriever.search,
        tenant,
        body.query,
        image=image,
        audio=audio,
        top_k=body.top_k,
        modalities=[str(m) for m in body.modalities],
        doc_ids=body.doc_ids,
    )
    result = await asyncio.get_running_loop().run_in_executor(runtime.query_executor, search)
    timings = dict(result.timings_ms, total=round((time.perf_counter() - started) * 1000, 3))
    return SearchResponse(
        hits=[HitOut.from_hit(hit) for hit in result.hits],
        timings_ms=timings,
        image_text=result.image_text,
        transcript=result.transcript,
    )


async def read_query(request: Request, schema: type[Query]) -> tuple[Query, bytes | None, bytes | None]:
    """The query fields, the picture's bytes and the voice recording's bytes, from JSON or a form."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=2, max_fields=50) as form:
            files = {}
            for name in ("image", "audio"):
                upload = form.get(name)
                files[name] = await _read_upload(upload) if isinstance(upload, UploadFile) else None
            fields: dict[str, Any] = {
                key: form.getlist(key) if key in _LIST_FIELDS else form.get(key)
                for key in form.keys()  # noqa: SIM118 - a multi-dict
                if key not in files and form.get(key) != ""
            }
            fields["image"] = "<file>" if files["image"] else None
            fields["audio"] = "<file>" if files["audio"] else None
        return _validate(schema, fields), files["image"], files["audio"]
    try:
        payload = await request.json()
    except ValueError as exc:
        raise InvalidRequest("the body is not valid JSON") from exc
    body = _validate(schema, payload)
    image = decode_base64(body.image, "image") if body.image else None
    audio = decode_base64(body.audio, "audio") if body.audio else None
    return body, image, audio


def _validate(schema: type[Query], data: Any) -> Query:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


async def _read_upload(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_QUERY_MEDIA_BYTES + 1)
    if len(data) > MAX_QUERY_MEDIA_BYTES:
        raise PayloadTooLarge(f"a query file is larger than {MAX_QUERY_MEDIA_BYTES:,} bytes")
    return data


def decode_base64(encoded: str, field: str) -> bytes:
    """Bytes from base64 or a base64 data URL, at most MAX_QUERY_MEDIA_BYTES; raises InvalidRequest."""
    if encoded.startswith("data:") and "," in encoded:
        encoded = encoded.split(",", 1)[1]  # a data URL
    if len(encoded) > MAX_QUERY_MEDIA_BYTES * 4 // 3 + 4:
        raise PayloadTooLarge(f"the query {field} is larger than {MAX_QUERY_MEDIA_BYTES:,} bytes")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest(f"{field} is not valid base64") from exc
