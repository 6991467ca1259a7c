"""Re-embedding without re-parsing: rebuild the vector index from the items the database keeps.

Every item keeps its text, its place (page, start, end, t), its extra payload
and, through its document, its media; so a change of encoder needs no parse,
OCR or transcription again. The new index is a new generation beside the
live one (``omnidex.store.generations``); searches use the live one until
the switch. A run that stops half-way resumes: documents whose points are
all in the new generation already are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from omnidex.blobs import make_blob_store
from omnidex.config import Settings
from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow, ItemRow, utcnow
from omnidex.encoders import ClipUnavailable, make_image_encoder, make_sparse_encoder, make_text_encoder
from omnidex.errors import ConfigError, IngestError
from omnidex.ingest import images
from omnidex.ingest.pipeline import Pipeline, item_of
from omnidex.store.base import DEFAULT_IMAGE_DIM, Schema
from omnidex.store.generations import Generations, make_generations
from omnidex.types import DocStatus, Item, ItemKind

log = logging.getLogger(__name__)
PICTURE_KINDS = (ItemKind.IMAGE, ItemKind.KEYFRAME)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Reindexed:
    previous: str
    live: str
    documents: int
    skipped: int  # already in the new generation (a resumed run)
    points: int


class Reindexer:
    """Encodes every ready document's items into the next generation, then switches to it."""

    def __init__(self, db: Database, pipeline: Pipeline, generations: Generations) -> None:
        self.db = db
        self.pipeline = pipeline
        self.generations = generations

    def run(self, target: str, *, progress: Progress | None = None, keep_old: bool = False) -> Reindexed:
        """Fill ``target`` (opened as ``pipeline.store``), switch searches to it; the old one goes."""
        started = utcnow()
        docs = self._ready()
        done, skipped = self._fill(docs, progress)
        # What changed meanwhile (workers still indexing, people deleting) is caught up before the switch.
        self._fill(self._ready(since=started), None)
        self._drop_deleted(docs)
        previous = self.generations.switch(target)
        if not keep_old and previous != target:
            self.generations.drop(previous)
        log.info("reindexed %d documents into %s (was %s)", done, target, previous)
        return Reindexed(previous, target, done, skipped, self.pipeline.store.count())

    def _drop_deleted(self, docs: list[DocumentRow]) -> None:
        with self.db.session() as session:
            remaining = set(session.scalars(select(DocumentRow.id)))
        for doc in docs:
            if doc.id not in remaining:
                self.pipeline.store.delete_document(doc.tenant, doc.id)

    def _ready(self, since: datetime | None = None) -> list[DocumentRow]:
        wanted = [DocumentRow.status == DocStatus.READY]
        if since is not None:
            wanted.append(DocumentRow.updated_at >= since)
        with self.db.session() as session:
            query = select(DocumentRow).where(*wanted).order_by(DocumentRow.created_at, DocumentRow.id)
            return list(session.scalars(query))

    def _fill(self, docs: list[DocumentRow], progress: Progress | None) -> tuple[int, int]:
        batch: list[tuple[DocumentRow, str, Item]] = []
        skipped = 0
        for number, doc in enumerate(docs, 1):
            rows = self._items(doc.id)
            if self._complete(doc, rows):
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
        with self.db.session() as session:
            query = select(ItemRow).where(ItemRow.doc_id == doc_id).order_by(ItemRow.key)
            return list(session.scalars(query))

    def _complete(self, doc: DocumentRow, rows: list[ItemRow]) -> bool:
        expected = sum(1 for row in rows if row.text.strip() or self._pictured(row))
        return expected > 0 and self.pipeline.store.count(doc.tenant, doc.id) == expected

    def _pictured(self, row: ItemRow) -> bool:
        return self.pipeline.image_encoder is not None and row.kind in PICTURE_KINDS

    def _rebuilt(self, doc: DocumentRow, rows: list[ItemRow]) -> Iterator[Item]:
        for row in rows:
            item = item_of(row)
            if self._pictured(row):
                item.image = self._picture(doc, row)
            yield item

    def _picture(self, doc: DocumentRow, row: ItemRow) -> Any:
        path = images.picture_path(self.pipeline.blobs, doc, row)
        try:
            loaded = images.load_image(path, self.pipeline.max_image_pixels)
        except (IngestError, FileNotFoundError) as exc:
            log.warning("picture %s of %s is gone; indexed by its text only: %s", row.key, doc.id, exc)
            return None
        return images.shrunk(loaded.image, images.ENCODE_SIDE)

    def _flush(self, batch: list[tuple[DocumentRow, str, Item]]) -> None:
        if batch:
            points = [p for p in self.pipeline.encode(batch) if p.vectors or p.sparse]
            self.pipeline.store.upsert(points)
            batch.clear()


@contextmanager
def prepared(settings: Settings) -> Iterator[tuple[Reindexer, str]]:
    """A reindexer built from the settings (the new encoders), and the generation it fills."""
    from omnidex.runtime import DataDirLock

    lock = None if settings.qdrant_url else DataDirLock(settings.lock_path)
    closing: list[Callable[[], None]] = [lock.release] if lock else []
    try:
        db = Database(settings.resolved_database_url)
        closing.append(db.close)
        db.migrate(apply=settings.migrate_on_start)
        clip = make_image_encoder(settings)
        image = None if isinstance(clip, ClipUnavailable) else clip
        text = make_text_encoder(settings)
        schema = Schema(text.dim, image.dim if image else DEFAULT_IMAGE_DIM)
        generations = make_generations(settings)
        closing.append(generations.close)
        target = generations.next_name()
        try:
            store = generations.open(target, schema)
        except ConfigError:
            log.info("%s was begun with other vector sizes: starting it again", target)
            generations.drop(target)
            store = generations.open(target, schema)
        closing.append(store.close)
        pipeline = Pipeline(
            blobs=make_blob_store(settings.blob_url, settings.blobs_dir, settings.s3_endpoint_url),
            store=store,
            text_encoder=text,
            sparse_encoder=make_sparse_encoder(settings),
            image_encoder=image,
            batch_size=settings.text_batch_size,
            max_image_pixels=settings.max_image_pixels,
        )
        yield Reindexer(db, pipeline, generations), target
    finally:
        for close in reversed(closing):
            close()
