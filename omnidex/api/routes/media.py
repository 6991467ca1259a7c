"""/v1/media/{item_id}: the bytes behind a hit — image, thumbnail, keyframe, video clip."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from omnidex.api.deps import RuntimeDep, TenantDep
from omnidex.api.schemas import ErrorResponse
from omnidex.db import documents
from omnidex.errors import InvalidRequest, NotFound
from omnidex.ingest.clips import cut_audio, cut_clip
from omnidex.types import ItemKind

router = APIRouter(prefix="/v1/media", tags=["media"])


@router.get(
    "/{item_id}",
    response_class=FileResponse,
    responses={400: {"model": ErrorResponse}, 404: {"model": ErrorResponse}},
)
def get_media(
    item_id: str,
    runtime: RuntimeDep,
    tenant: TenantDep,
    thumb: Annotated[bool, Query(description="A small JPEG instead of the full picture.")] = False,
    clip: Annotated[bool, Query(description="For a video keyframe: an MP4 clip around its moment.")] = False,
) -> FileResponse:
    """The item's media (HTTP Range supported).

    An image, its thumbnail, a video keyframe (JPEG) or, with ``?clip=1``, the video around it;
    a speech segment as a WAV clip of exactly its stretch (padded by a small margin), or with
    ``?clip=1`` for a video's speech, the video of that stretch; a text chunk's whole document.
    """
    item, doc = documents.get_item(runtime.db, tenant, item_id)
    folder = runtime.blobs.derived_dir(doc.id)
    if item.kind == ItemKind.SPEECH and item.start is not None and item.end is not None:
        margin = runtime.settings.media_margin_seconds
        start, seconds = max(0.0, item.start - margin), item.end - item.start + 2 * margin
        source = runtime.blobs.path(doc.sha256)
        if clip and item.modality == "video":
            path, media_type = cut_clip(source, start, seconds), "video/mp4"
        else:
            path, media_type = cut_audio(source, start, seconds), "audio/wav"
        return FileResponse(
            path, media_type=media_type, background=BackgroundTask(path.unlink, missing_ok=True)
        )
    if clip:
        if item.kind != ItemKind.KEYFRAME or item.t is None:
            raise InvalidRequest("?clip=1 is for video keyframes and a video's speech")
        seconds = runtime.settings.clip_seconds
        path = cut_clip(runtime.blobs.path(doc.sha256), max(0.0, item.t - seconds / 2), seconds)
        return FileResponse(
            path, media_type="video/mp4", background=BackgroundTask(path.unlink, missing_ok=True)
        )
    if thumb:
        return _file(folder / f"{item.key}.thumb.jpg", "image/jpeg")
    if item.kind == ItemKind.IMAGE and item.key == "image":
        return _file(runtime.blobs.path(doc.sha256), doc.mime or "application/octet-stream")
    if item.kind in (ItemKind.IMAGE, ItemKind.KEYFRAME):
        return _file(folder / f"{item.key}.jpg", "image/jpeg")
    return _file(runtime.blobs.path(doc.sha256), doc.mime or "application/octet-stream", doc.name)


def _file(path: Path, media_type: str, filename: str | None = None) -> FileResponse:
    if not path.is_file():
        raise NotFound("this item has no stored media")
    return FileResponse(path, media_type=media_type, filename=filename, content_disposition_type="inline")
