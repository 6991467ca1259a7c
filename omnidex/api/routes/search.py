"""/v1/search: hybrid retrieval."""

from __future__ import annotations

import time

from fastapi import APIRouter

from omnidex.api.deps import RuntimeDep, TenantDep
from omnidex.api.schemas import ErrorResponse, HitOut, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["search"])


@router.post(
    "/search",
    response_model=SearchResponse,
    responses={400: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def search(body: SearchRequest, runtime: RuntimeDep, tenant: TenantDep) -> SearchResponse:
    """The best-matching passages for a text query: dense + BM25, fused by RRF in Qdrant."""
    started = time.perf_counter()
    result = runtime.retriever.search(
        tenant,
        body.query,
        top_k=body.top_k,
        modalities=[str(m) for m in body.modalities],
        doc_ids=body.doc_ids,
    )
    timings = dict(result.timings_ms, total=round((time.perf_counter() - started) * 1000, 3))
    return SearchResponse(hits=[HitOut.from_hit(hit) for hit in result.hits], timings_ms=timings)
