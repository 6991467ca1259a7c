"""/v1/media/{item_id}: the bytes behind a hit — image, thumbnail, keyframe, video clip."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from omnidex.api.deps import BlobsDep, DatabaseDep, SettingsDep, TenantDep
from omnidex.db import documents
from omnidex.errors import InvalidRequest, NotFound
from omnidex.media import derived
from omnidex.media.clips import cut_audio, cut_clip
from omnidex.schemas import ErrorResponse
from omnidex.types import ItemKind

router = APIRouter(prefix="/v1/media", tags=["media"])


@router.get(
    "/{item_id}",
    response_class=FileResponse,
    responses={400: {"model": ErrorResponse}, 404: {"model": ErrorResponse}},
)
def get_media(
    item_id: str,
    db: DatabaseDep,
    blobs: BlobsDep,
    settings: SettingsDep,
    tenant: TenantDep,
    thumb: Annotated[bool, Query(description="A small JPEG instead of the full picture.")] = False,
    clip: Annotated[bool, Query(description="For a video keyframe: an MP4 clip around its moment.")] = False,
) -> FileResponse:
    """The item's media (HTTP Range supported).

    An image, its thumbnail, a video keyframe (JPEG) or, with ``?clip=1``, the video around it;
    a speech segment as a WAV clip of exactly its stretch (padded by a small margin), or with
    ``?clip=1`` for a video's speech, the video of that stretch; a text chunk's whole document.
    """
    item, doc = documents.get_item(db, tenant, item_id)
    folder = blobs.derived_dir(doc.id)
    if item.kind in (ItemKind.SPEECH, ItemKind.SOUND) and item.start is not None and item.end is not None:
        margin = settings.media_margin_seconds
        start, seconds = max(0.0, item.start - margin), item.end - item.start + 2 * margin
        source = blobs.path(doc.sha256)
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
        seconds = settings.clip_seconds
        path = cut_clip(blobs.path(doc.sha256), max(0.0, item.t - seconds / 2), seconds)
        return FileResponse(
            path, media_type="video/mp4", background=BackgroundTask(path.unlink, missing_ok=True)
        )
    if thumb:
        return _file(derived.thumbnail_path(folder, item.key), "image/jpeg")
    if item.kind in (ItemKind.IMAGE, ItemKind.KEYFRAME):
        path = derived.picture_path(folder, item.kind, item.key, lambda: blobs.path(doc.sha256))
        original = item.key == derived.ORIGINAL_PICTURE_KEY and item.kind == ItemKind.IMAGE
        return _file(path, (doc.mime or "application/octet-stream") if original else "image/jpeg")
    return _file(blobs.path(doc.sha256), doc.mime or "application/octet-stream", doc.name)


def _file(path: Path, media_type: str, filename: str | None = None) -> FileResponse:
    if not path.is_file():
        raise NotFound("this item has no stored media")
    return FileResponse(path, media_type=media_type, filename=filename, content_disposition_type="inline")
