"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from omnidex.api.deps import RuntimeDep, require
from omnidex.api.metrics import CONTENT_TYPE
from omnidex.db.keys import Role
from omnidex.errors import OmnidexError
from omnidex.runtime import Runtime
from omnidex.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
def healthz() -> HealthResponse:
    """The process is up."""
    return HealthResponse(status="ok")


@router.get("/readyz", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
async def readyz(request: Request) -> JSONResponse:
    """Every component answers: database, vector store, encoders, the configured generator."""
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return JSONResponse(HealthResponse(status="starting").model_dump(), status_code=503)
    checks = await run_in_threadpool(_storage_checks, runtime)
    text = runtime.text_encoder
    checks["text_encoder"] = (
        f"warming: exporting {text.name} to ONNX for this data dir, once; searches and indexing wait for it"
        if getattr(text, "warming", False)
        else f"ok: {text.name} ({text.dim}-d)"
    )
    checks["sparse_encoder"] = f"ok: {runtime.sparse_encoder.name}"
    clip = runtime.image_encoder
    checks["visual_search"] = (
        f"ok: {clip.name} ({clip.dim}-d)" if clip else f"off: {runtime.visual_search_off}"
    )
    checks["ocr"] = "ok: tesseract" if runtime.ocr_off is None else f"off: {runtime.ocr_off}"
    checks["speech"] = f"ok: {runtime.transcriber.name}" if runtime.transcriber else "off"
    checks["workers"] = f"{runtime.worker_count} in this process"
    readers = runtime.pipeline.readers
    if runtime.worker_count and readers is not None:
        checks["document_readers"] = (
            "warming: loading the document parser (files wait until it is loaded)"
            if readers.warming
            else f"ok: up to {readers.size} reader process{'es' if readers.size > 1 else ''}"
        )
    checks["generator"] = await _generator_check(runtime)
    if runtime.generator is not None:
        checks["reasoning"] = await _reasoner_check(runtime)
    ready = all(not value.startswith("error") for value in checks.values())
    body = HealthResponse(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def _storage_checks(runtime: Runtime) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        runtime.db.ping()
        checks["database"] = f"ok: {runtime.db.dialect}"
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    try:
        runtime.store.count()
        checks["vector_store"] = "ok"
    except Exception as exc:
        checks["vector_store"] = f"error: {exc}"
    return checks


async def _generator_check(runtime: Runtime) -> str:
    if runtime.generator is None:
        return "off: no generator configured (search only)"
    try:
        return await runtime.generator.check()
    except OmnidexError as exc:
        return f"error: {exc.message}"


async def _reasoner_check(runtime: Runtime) -> str:
    if runtime.reasoner is None:
        return "off: no reasoning model (OMNIDEX_REASONING_MODEL), so think mode talks"
    try:
        return await runtime.reasoner.check()
    except OmnidexError as exc:  # talk and search still work: not a reason to be unready
        return f"unavailable: {exc.message}; think mode fails until it answers"


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(require(Role.ADMIN))])
async def metrics(runtime: RuntimeDep) -> PlainTextResponse:
    """Prometheus metrics (an admin key once keys exist: they count every tenant's documents)."""
    body = await run_in_threadpool(runtime.metrics.render)
    return PlainTextResponse(body, media_type=CONTENT_TYPE)
