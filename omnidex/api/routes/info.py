"""/v1/info: what this deployment can do, and why a feature is off."""

from __future__ import annotations

from fastapi import APIRouter

import omnidex
from omnidex.api.deps import CallerDep, RuntimeDep
from omnidex.schemas import Feature, InfoResponse

router = APIRouter(prefix="/v1", tags=["info"])


@router.get("/info", response_model=InfoResponse)
def get_info(runtime: RuntimeDep, caller: CallerDep) -> InfoResponse:
    """Models, vector sizes and enabled features."""
    clip = runtime.image_encoder
    generator = runtime.generator
    return InfoResponse(
        version=omnidex.__version__,
        vector_store="qdrant-server" if runtime.settings.qdrant_url else "qdrant-edge",
        text=Feature(enabled=True, model=runtime.text_encoder.name, dim=runtime.text_encoder.dim),
        sparse=Feature(enabled=True, model=runtime.sparse_encoder.name),
        visual_search=Feature(
            enabled=clip is not None,
            model=clip.name if clip else runtime.settings.clip_model,
            dim=clip.dim if clip else None,
            reason=runtime.visual_search_off,
        ),
        ocr=Feature(enabled=runtime.ocr_off is None, model="tesseract", reason=runtime.ocr_off),
        speech=Feature(
            enabled=runtime.transcriber is not None,
            model=runtime.transcriber.name if runtime.transcriber else None,
            reason=None if runtime.transcriber else "turned off (OMNIDEX_SPEECH=false)",
        ),
        answers=Feature(
            enabled=generator is not None,
            model=f"{generator.name}: {generator.model}" if generator else None,
            reason=None if generator else "no generator is configured (OMNIDEX_GENERATOR)",
        ),
        spoken_answers=Feature(
            enabled=bool(generator and generator.speaks),
            reason=None
            if generator and generator.speaks
            else f"the {generator.name} backend answers in text only"
            if generator
            else "no generator is configured (OMNIDEX_GENERATOR)",
        ),
        thinking=Feature(
            enabled=runtime.reasoner is not None,
            model=f"{runtime.reasoner.name}: {runtime.reasoner.model}" if runtime.reasoner else None,
            reason=None if runtime.reasoner else "no reasoning model (OMNIDEX_REASONING_MODEL)",
        ),
        captions=Feature(
            enabled=runtime.pipeline.captioner is not None,
            model=runtime.pipeline.captioner.name if runtime.pipeline.captioner else None,
            reason=None if runtime.pipeline.captioner else "no captioner (OMNIDEX_CAPTIONER)",
        ),
        max_upload_bytes=runtime.settings.max_upload_bytes,
    )
