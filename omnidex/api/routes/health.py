"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from omnidex.api.schemas import HealthResponse
from omnidex.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
def healthz() -> HealthResponse:
    """The process is up."""
    return HealthResponse(status="ok")


@router.get("/readyz", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
def readyz(request: Request) -> JSONResponse:
    """Every component answers: database, vector store, encoders."""
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return JSONResponse(HealthResponse(status="starting").model_dump(), status_code=503)
    checks: dict[str, str] = {}
    try:
        with runtime.db.session() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    try:
        runtime.store.count()
        checks["vector_store"] = "ok"
    except Exception as exc:
        checks["vector_store"] = f"error: {exc}"
    checks["text_encoder"] = f"ok: {runtime.text_encoder.name} ({runtime.text_encoder.dim}-d)"
    checks["sparse_encoder"] = f"ok: {runtime.sparse_encoder.name}"
    clip = runtime.image_encoder
    checks["visual_search"] = (
        f"ok: {clip.name} ({clip.dim}-d)" if clip else f"off: {runtime.visual_search_off}"
    )
    checks["ocr"] = "ok: tesseract" if runtime.ocr_off is None else f"off: {runtime.ocr_off}"
    checks["speech"] = f"ok: {runtime.transcriber.name}" if runtime.transcriber else "off"
    checks["workers"] = f"{runtime.worker_count} in this process"
    ready = all(not value.startswith("error") for value in checks.values())
    body = HealthResponse(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
