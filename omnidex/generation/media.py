"""The media behind hits and questions, shaped for a model: small JPEGs and 16 kHz mono WAV clips."""

from __future__ import annotations

import io
import logging
import tempfile
from pathlib import Path

from PIL import Image

from omnidex.blobs import BlobStore
from omnidex.db import documents
from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow, ItemRow
from omnidex.errors import CorruptFile, IngestError, InvalidRequest, NotFound
from omnidex.ingest.clips import cut_audio
from omnidex.ingest.images import load_image, picture_path, shrunk

log = logging.getLogger(__name__)

MODEL_AUDIO_RATE = 16_000  # what Qwen3-Omni's audio encoder listens at


def jpeg(image: Image.Image, side: int, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    shrunk(image, side).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


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
        except IngestError as exc:
            raise InvalidRequest(f"the voice question: {exc.message}") from exc


def clip_wav(source: Path, start: float, seconds: float) -> tuple[bytes, float]:
    """``seconds`` of ``source`` from ``start`` as 16 kHz mono WAV bytes, and the clip's real length."""
    path = cut_audio(source, start, seconds, rate=MODEL_AUDIO_RATE, mono=True)
    try:
        data = path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
    frames = max(0, len(data) - 44) // 2
    if frames == 0:
        raise CorruptFile("there is no sound in that stretch")
    return data, frames / MODEL_AUDIO_RATE


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
        return self._jpeg(picture_path(self.blobs, doc, item), side)

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
        return [data for row in chosen if (data := self._jpeg(folder / f"{row.key}.jpg", side))]

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
