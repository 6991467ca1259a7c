"""Re-embedding without re-parsing: rebuild the vector index from the items the database keeps.

Every item keeps its text, its place (page, start, end, t), its extra payload
and, through its document, its media; so a change of encoder needs no parse,
OCR or transcription again. The new index is a new index version beside the
live one (``omnidex.store.versions``); searches use the live one until
the switch. A run that stops half-way resumes: documents whose points are
all in the new index version already are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omnidex.db import documents
from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow, ItemRow, utcnow
from omnidex.errors import IngestError
from omnidex.ingest.pipeline import Pipeline, item_of
from omnidex.media import derived
from omnidex.media.clips import clip_wav
from omnidex.media.images import ENCODE_SIDE, load_image, shrunk
from omnidex.store.versions import IndexVersions
from omnidex.types import Item, ItemKind

log = logging.getLogger(__name__)
PICTURE_KINDS = (ItemKind.IMAGE, ItemKind.KEYFRAME)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Reindexed:
    previous: str
    live: str
    documents: int
    skipped: int  # already in the new index version (a resumed run)
    points: int


class Reindexer:
    """Encodes every ready document's items into the next index version, then switches to it."""

    def __init__(
        self, db: Database, pipeline: Pipeline, versions: IndexVersions, *, captions: bool = False
    ) -> None:
        """``captions``: describe pictures and sounds again (``pipeline.captioner``) and keep it."""
        self.db = db
        self.pipeline = pipeline
        self.versions = versions
        self.captions = captions

    def run(self, target: str, *, progress: Progress | None = None, keep_old: bool = False) -> Reindexed:
        """Fill ``target`` (opened as ``pipeline.store``), switch searches to it; the old one goes."""
        started = utcnow()
        docs = self._ready()
        done, skipped = self._fill(docs, progress)
        # What changed meanwhile (workers still indexing, people deleting) is caught up before the switch.
        self._fill(self._ready(since=started), None)
        self._drop_deleted(docs)
        previous = self.versions.switch(target)
        if not keep_old and previous != target:
            self.versions.drop(previous)
        log.info("reindexed %d documents into %s (was %s)", done, target, previous)
        return Reindexed(previous, target, done, skipped, self.pipeline.store.count())

    def _drop_deleted(self, docs: list[DocumentRow]) -> None:
        remaining = documents.document_ids(self.db)
        for doc in docs:
            if doc.id not in remaining:
                self.pipeline.store.delete_document(doc.tenant, doc.id)

    def _ready(self, since: datetime | None = None) -> list[DocumentRow]:
        return documents.ready_documents(self.db, since)

    def _fill(self, docs: list[DocumentRow], progress: Progress | None) -> tuple[int, int]:
        batch: list[tuple[DocumentRow, str, Item]] = []
        skipped = 0
        for number, doc in enumerate(docs, 1):
            rows = self._items(doc.id)
            if not self.captions and self._complete(doc, rows):
                skipped += 1
            else:
                for item in self._rebuilt(doc, rows):
                    batch.append((doc, doc.mime or "application/octet-stream", item))
                    if len(batch) >= self.pipeline.batch_size:
                        self._flush(batch)
            if progress is not None:
                progress(number, len(docs))
        self._flush(batch)
        return len(docs), skipped

    def _items(self, doc_id: str) -> list[ItemRow]:
        return documents.items_of(self.db, doc_id)

    def _complete(self, doc: DocumentRow, rows: list[ItemRow]) -> bool:
        expected = sum(1 for row in rows if row.text.strip() or self._pictured(row))
        return expected > 0 and self.pipeline.store.count(doc.tenant, doc.id) == expected

    def _pictured(self, row: ItemRow) -> bool:
        return (self.pipeline.image_encoder is not None or self.captions) and row.kind in PICTURE_KINDS

    def _rebuilt(self, doc: DocumentRow, rows: list[ItemRow]) -> Iterator[Item]:
        for row in rows:
            item = item_of(row)
            if self._pictured(row):
                item.image = self._picture(doc, row)
            if self.captions:
                for key in ("caption", "caption_tokens", "caption_error"):
                    item.extra.pop(key, None)
                if row.kind == ItemKind.SOUND:
                    item.sound = self._sound(doc, row)
            yield item

    def _sound(self, doc: DocumentRow, row: ItemRow) -> bytes | None:
        try:
            wav, _ = clip_wav(
                self.pipeline.blobs.path(doc.sha256), row.start or 0.0, (row.end or 0.0) - (row.start or 0.0)
            )
        except (IngestError, FileNotFoundError) as exc:
            log.warning("sound %s of %s cannot be cut: %s", row.key, doc.id, exc)
            return None
        return wav

    def _picture(self, doc: DocumentRow, row: ItemRow) -> Any:
        blobs = self.pipeline.blobs
        folder = blobs.derived_dir(doc.id)
        path = derived.picture_path(folder, row.kind, row.key, lambda: blobs.path(doc.sha256))
        try:
            loaded = load_image(path, self.pipeline.max_image_pixels)
        except (IngestError, FileNotFoundError) as exc:
            log.warning("picture %s of %s is gone; indexed by its text only: %s", row.key, doc.id, exc)
            return None
        return shrunk(loaded.image, ENCODE_SIDE)

    def _flush(self, batch: list[tuple[DocumentRow, str, Item]]) -> None:
        if batch:
            points = [p for p in self.pipeline.encode(batch) if p.vectors or p.sparse]
            self.pipeline.store.upsert(points)
            if self.captions:  # the new captions are the items' own from now on
                documents.save_item_extras(self.db, [(doc.id, item) for doc, _, item in batch])
            batch.clear()
