"""The media behind hits and questions, shaped for a model: small JPEGs and 16 kHz mono WAV clips."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from omnidex.blobs import BlobStore
from omnidex.db import documents
from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow, ItemRow
from omnidex.errors import IngestError, InvalidRequest, NotFound, UnsupportedMediaType, UnsupportedType
from omnidex.media.clips import clip_wav
from omnidex.media.derived import copy_path, picture_path
from omnidex.media.images import jpeg, load_image

log = logging.getLogger(__name__)


def question_picture(data: bytes, side: int, max_pixels: int) -> bytes:
    """The picture a question was asked with, as a small JPEG; raises InvalidRequest."""
    try:
        return jpeg(load_image(data, max_pixels).image, side)
    except IngestError as exc:
        raise InvalidRequest(f"the question's picture: {exc.message}") from exc


def question_recording(data: bytes, max_seconds: float) -> tuple[bytes, float]:
    """The voice question as 16 kHz mono WAV (at most ``max_seconds``) and its length."""
    with tempfile.NamedTemporaryFile(suffix=".audio") as handle:
        handle.write(data)
        handle.flush()
        try:
            return clip_wav(Path(handle.name), 0.0, max_seconds)
        except UnsupportedType as exc:
            raise UnsupportedMediaType(f"the voice question: {exc.message}") from exc
        except IngestError as exc:
            raise InvalidRequest(f"the voice question: {exc.message}") from exc


class MediaReader:
    """Reads the stored media of a tenant's items; a missing or broken file gives ``None``."""

    def __init__(self, db: Database, blobs: BlobStore, tenant: str) -> None:
        self.db = db
        self.blobs = blobs
        self.tenant = tenant

    def picture(self, item_id: str, side: int) -> bytes | None:
        found = self._item(item_id)
        if found is None:
            return None
        item, doc = found
        path = picture_path(
            self.blobs.derived_dir(doc.id), item.kind, item.key, lambda: self.blobs.path(doc.sha256)
        )
        return self._jpeg(path, side)

    def keyframes(self, item_id: str, start: float, end: float, count: int, side: int) -> list[bytes]:
        """Up to ``count`` of a video's keyframes in [start, end], those nearest its middle first."""
        found = self._item(item_id)
        if found is None or count <= 0:
            return []
        middle = (start + end) / 2
        rows = documents.keyframes_between(self.db, found[1].id, start, end)
        rows.sort(key=lambda row: abs((row.t or 0.0) - middle))
        chosen = sorted(rows[:count], key=lambda row: row.t or 0.0)
        folder = self.blobs.derived_dir(found[1].id)
        return [data for row in chosen if (data := self._jpeg(copy_path(folder, row.key), side))]

    def audio(self, item_id: str, start: float, seconds: float) -> tuple[bytes, float] | None:
        found = self._item(item_id)
        if found is None or seconds <= 0:
            return None
        try:
            return clip_wav(self.blobs.path(found[1].sha256), max(0.0, start), seconds)
        except (IngestError, IndexError) as exc:  # IndexError: a video without a soundtrack
            log.info("no audio clip for item %s: %s", item_id, exc)
            return None

    def _item(self, item_id: str) -> tuple[ItemRow, DocumentRow] | None:
        try:
            return documents.get_item(self.db, self.tenant, item_id)
        except NotFound:
            return None

    def _jpeg(self, path: Path, side: int) -> bytes | None:
        if not path.is_file():
            return None
        try:
            return jpeg(load_image(path, 10**9).image, side)
        except IngestError as exc:
            log.info("cannot send %s to the model: %s", path.name, exc.message)
            return None
