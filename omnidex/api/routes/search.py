"""/v1/search: hybrid retrieval by words, by picture, or both."""

from __future__ import annotations

import asyncio
import time
from functools import partial

from fastapi import APIRouter, Request

from omnidex.api.deps import QueryExecutorDep, RetrieverDep, TenantDep
from omnidex.api.queries import read_query
from omnidex.schemas import ErrorResponse, HitOut, NoticeOut, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["search"])
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
async def search(
    request: Request, retriever: RetrieverDep, executor: QueryExecutorDep, tenant: TenantDep
) -> SearchResponse:
    """The best-matching items for words (dense + BM25 + CLIP text), a picture (CLIP + its OCR text),
    a voice question (transcribed, then searched as words), or several of them.

    Send JSON (`image`, `audio` as base64) or a multipart form (`image`, `audio` as files);
    the vector spaces' results are fused (DBSF by default, OMNIDEX_FUSION).
    """
    body, image, audio = await read_query(request, SearchRequest)
    started = time.perf_counter()
    search = partial(
        retriever.search,
        tenant,
        body.query,
        image=image,
        audio=audio,
        top_k=body.top_k,
        modalities=[str(m) for m in body.modalities],
        doc_ids=body.doc_ids,
    )
    result = await asyncio.get_running_loop().run_in_executor(executor, search)
    timings = dict(result.timings_ms, total=round((time.perf_counter() - started) * 1000, 3))
    return SearchResponse(
        hits=[HitOut.from_hit(hit) for hit in result.hits],
        timings_ms=timings,
        image_text=result.image_text,
        transcript=result.transcript,
        notices=[NoticeOut(code=code, message=message) for code, message in result.notices],
    )
