"""One document, from its stored bytes to points in Qdrant and rows in the database.

Items are streamed from the partitioner and encoded in batches, so a long
video or a large PDF never has all its pictures in memory at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePath
from typing import Any, TypeVar

from omnidex.blobs import BlobStore
from omnidex.db.models import DocumentRow, ItemRow
from omnidex.encoders import ImageEncoder, SparseEncoder, TextEncoder
from omnidex.encoders.asr import Transcriber
from omnidex.encoders.compact import pack_vectors
from omnidex.errors import IngestError
from omnidex.generation.captions import Captioner
from omnidex.ingest import registry
from omnidex.ingest.bounded import ParseBudget
from omnidex.ingest.captions import caption, searchable
from omnidex.ingest.partition import Source
from omnidex.ingest.sniff import Sniffed, describe, sniff
from omnidex.store import VectorStore
from omnidex.store.base import IMAGE_VECTOR, SENTENCE_VECTORS, SPARSE_VECTOR, TEXT_VECTOR
from omnidex.types import Item, ItemKind, Modality, Point, point_id

# (fraction done, stage name) -> None; raises to abandon the document.
ProgressFn = Callable[[float, str], None]
READ_SHARE = 0.05
REPORT_SECONDS = 1.0
T = TypeVar("T")


@dataclass(slots=True)
class Pipeline:
    """Everything indexing needs; shared by all worker threads."""

    blobs: BlobStore
    store: VectorStore
    text_encoder: TextEncoder
    sparse_encoder: SparseEncoder
    image_encoder: ImageEncoder | None = None
    transcriber: Transcriber | None = None
    chunk_max_chars: int = 1200
    chunk_overlap_chars: int = 150
    batch_size: int = 64
    max_text_file_bytes: int = 64 * 1024**2
    max_image_pixels: int = 100_000_000
    ocr: bool = True
    ocr_timeout: float = 30.0
    keyframes_per_minute: float = 12.0
    max_pictures: int = 500
    # Where files are parsed: child processes with a time and memory budget, or (None) here.
    readers: ParseBudget | None = None
    # Who describes pictures, keyframes and sounds without speech (OMNIDEX_CAPTIONER), if anyone.
    captioner: Captioner | None = None

    def index(self, doc: DocumentRow, report: ProgressFn) -> tuple[Sniffed, list[ItemRow]]:
        """Index ``doc``; returns what it really is and its item rows. Raises IngestError."""
        [outcome] = self.index_group([doc], {doc.id: report})
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def index_group(
        self, docs: Sequence[DocumentRow], reports: dict[str, ProgressFn]
    ) -> list[tuple[Sniffed, list[ItemRow]] | BaseException]:
        """Index several documents, batching their items together for the encoders.

        Many small documents (one picture each) then share one encoder batch
        instead of paying for a batch of one apiece. The outcome of each
        document is its (what it is, item rows) or the exception that failed it.
        """
        batch = _Batch(self)
        outcomes: dict[str, tuple[Sniffed, list[ItemRow]] | BaseException] = {}
        sniffed: dict[str, Sniffed] = {}
        for doc in docs:
            report = reports[doc.id]
            try:
                sniffed[doc.id] = self._prepare(doc, report)
                reported = time.monotonic()
                path, check = self.blobs.path(doc.sha256), _every_second(report)
                for item, fraction in self.items(doc, path, sniffed[doc.id], check):
                    batch.add(doc, sniffed[doc.id].mime, item)
                    flushed = batch.full
                    if flushed:
                        batch.flush()
                    if flushed or time.monotonic() - reported >= REPORT_SECONDS:
                        report(READ_SHARE + (1 - READ_SHARE) * fraction, "indexing")
                        reported = time.monotonic()
            except Exception as exc:
                batch.drop(doc.id)
                outcomes[doc.id] = exc
        batch.flush()
        for doc in docs:
            if doc.id in outcomes:
                continue
            rows = batch.rows.get(doc.id, [])
            if rows:
                outcomes[doc.id] = (sniffed[doc.id], rows)
            else:
                outcomes[doc.id] = IngestError(_nothing_found(sniffed[doc.id]))
        return [outcomes[doc.id] for doc in docs]

    def _prepare(self, doc: DocumentRow, report: ProgressFn) -> Sniffed:
        path = self.blobs.path(doc.sha256)
        if not path.is_file():
            raise IngestError("the uploaded file is missing from the blob store; upload it again")
        report(0.0, "reading")
        sniffed = sniff(path, doc.name)
        if doc.attempts > 1:
            # An interrupted attempt may have left points; ids are deterministic,
            # but clearing also drops items this attempt might not make again.
            self.store.delete_document(doc.tenant, doc.id)
            self.blobs.delete_derived(doc.id)
        return sniffed

    def items(
        self, doc: DocumentRow, path: Path, sniffed: Sniffed, check: Callable[[], None] = lambda: None
    ) -> Iterator[tuple[Item, float]]:
        """The document's items with the fraction of it read so far, from its kind's partitioner."""
        size = path.stat().st_size
        if sniffed.mime.startswith("text/") and size > self.max_text_file_bytes:
            raise IngestError(
                f"this {describe(sniffed.mime)} file is {_amount(size)} of text; "
                f"the limit is {_amount(self.max_text_file_bytes)} (OMNIDEX_MAX_TEXT_FILE_BYTES)"
            )
        partitioner = registry.for_mime(sniffed.mime)
        if partitioner is None:
            raise IngestError(f"no partitioner reads {describe(sniffed.mime)} files")
        yield from partitioner.items(Source(doc, path, sniffed.mime, self, check))

    def read(
        self, fn: Callable[..., T], *args: Any, what: str, check: Callable[[], None], **kwargs: Any
    ) -> T:
        """``fn(*args, **kwargs)``, in a reader process within its budget where there are readers."""
        if self.readers is None:
            return fn(*args, **kwargs)
        return self.readers.run(partial(fn, **kwargs), *args, what=what, check=check)

    def encode(self, entries: Sequence[tuple[DocumentRow, str, Item]]) -> list[Point]:
        """One point per (document, its MIME type, item), with the vectors that apply to it."""
        items = [item for _, _, item in entries]
        visual: dict[int, list[float]] = {}
        if self.image_encoder is not None:  # first: pictures are encoded while OCR still reads them
            pictured = [n for n, item in enumerate(items) if item.image is not None]
            vectors = self.image_encoder.encode_images([items[n].image for n in pictured])
            visual = dict(zip(pictured, vectors, strict=True))
        for item in items:
            item.settle()
        if self.captioner is not None:
            caption(self.captioner, items)
        words = [searchable(item) for item in items]
        with_text = [n for n, said in enumerate(words) if said.strip()]
        texts = [f"{context_of(entries[n][0].name, items[n])}\n{words[n]}" for n in with_text]
        spoken = [(n, text) for n, item in enumerate(items) for text in sentence_texts(item)]
        encoded = self.text_encoder.encode(texts + [sentence for _, sentence in spoken])
        dense = dict(zip(with_text, encoded[: len(texts)], strict=True))
        per_item: dict[int, list[list[float]]] = {}
        for (n, _), vector in zip(spoken, encoded[len(texts) :], strict=True):
            per_item.setdefault(n, []).append(vector)
        sparse = dict(zip(with_text, self.sparse_encoder.encode_documents(texts), strict=True))
        encoders = self.encoder_versions()
        created_at = datetime.now(UTC).isoformat()
        points = []
        for n, (doc, mime, item) in enumerate(entries):
            named = {TEXT_VECTOR: dense[n]} if n in dense else {}
            if n in visual:
                named[IMAGE_VECTOR] = visual[n]
            payload = _payload(doc, mime, item, encoders, created_at)
            if n in per_item:
                payload[SENTENCE_VECTORS] = pack_vectors(per_item[n])
            points.append(
                Point(
                    id=point_id(doc.id, item.key),
                    vectors=named,
                    sparse={SPARSE_VECTOR: sparse[n]} if n in sparse else {},
                    payload=payload,
                )
            )
        return points

    def encoder_versions(self) -> dict[str, str]:
        versions = {
            TEXT_VECTOR: f"{self.text_encoder.name}@{self.text_encoder.version}",
            SPARSE_VECTOR: f"{self.sparse_encoder.name}@{self.sparse_encoder.version}",
        }
        if self.image_encoder is not None:
            versions[IMAGE_VECTOR] = f"{self.image_encoder.name}@{self.image_encoder.version}"
        return versions


def _amount(size: int) -> str:
    """Bytes in the unit a person reads them in: 24 KiB, 3.5 MiB, 120 MiB."""
    if size < 2**20:
        return f"{size / 2**10:,.0f} KiB"
    return f"{size / 2**20:,.1f} MiB" if size < 10 * 2**20 else f"{size / 2**20:,.0f} MiB"


def _every_second(report: ProgressFn) -> Callable[[], None]:
    """A check for long waits while reading: renews the lease, and raises as ``report`` does
    when the document is gone or the worker is stopping; at most once a second."""
    last = time.monotonic()

    def check() -> None:
        nonlocal last
        if time.monotonic() - last >= 1.0:
            report(READ_SHARE, "reading")
            last = time.monotonic()

    return check


def context_of(name: str, item: Item) -> str:
    """What an item's text is encoded with, ahead of it: the document it comes from (its title
    and file name), so a passage that never repeats the name a question asks for still carries it."""
    words = " ".join(re.split(r"[\W_]+", PurePath(name).stem)).strip()
    title = str(item.extra.get("title") or "")
    if title and words.lower() not in title.lower():
        return f"{title} ({words})"
    return title or words


def sentence_texts(item: Item) -> list[str]:
    """What a speech item's sentence vectors encode: each sentence alone, then each with the one
    before it (so "They raised money" knows who "they" are)."""
    said = [str(sentence[2]) for sentence in item.extra.get("sentences", ())]
    return said + [f"{before} {sentence}" for before, sentence in zip(["", *said], said, strict=False)]


def _nothing_found(sniffed: Sniffed) -> str:
    partitioner = registry.for_mime(sniffed.mime)
    found = partitioner.nothing_found if partitioner else "nothing was found"
    return f"nothing to index: {found} in this {describe(sniffed.mime)}"


class _Batch:
    """Items waiting for the encoders, from one or several documents."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.entries: list[tuple[DocumentRow, str, Item]] = []
        self.rows: dict[str, list[ItemRow]] = {}

    @property
    def full(self) -> bool:
        return len(self.entries) >= self.pipeline.batch_size

    def add(self, doc: DocumentRow, mime: str, item: Item) -> None:
        self.entries.append((doc, mime, item))

    def drop(self, doc_id: str) -> None:
        self.entries = [entry for entry in self.entries if entry[0].id != doc_id]
        self.rows.pop(doc_id, None)

    def flush(self) -> None:
        if not self.entries:
            return
        points = [p for p in self.pipeline.encode(self.entries) if p.vectors or p.sparse]
        self.pipeline.store.upsert(points)
        for doc, _, item in self.entries:
            self.rows.setdefault(doc.id, []).append(_item_row(doc.id, item))
            item.image = None
        self.entries = []


def _payload(
    doc: DocumentRow, mime: str, item: Item, encoders: dict[str, str], created_at: str
) -> dict[str, Any]:
    return {
        "tenant": doc.tenant,
        "doc_id": doc.id,
        "item_key": item.key,
        "modality": str(item.modality),
        "kind": str(item.kind),
        "source": doc.name,
        "mime": mime,
        "page": item.page,
        "start": item.start,
        "end": item.end,
        "t": item.t,
        "text": item.text,
        "created_at": created_at,
        "encoders": encoders,
        **item.extra,
    }


def _item_row(doc_id: str, item: Item) -> ItemRow:
    return ItemRow(
        id=point_id(doc_id, item.key),
        doc_id=doc_id,
        key=item.key,
        modality=str(item.modality),
        kind=str(item.kind),
        page=item.page,
        start=item.start,
        end=item.end,
        t=item.t,
        text=item.text,
        extra=item.extra or None,
    )


def item_of(row: ItemRow) -> Item:
    """The item an item row was made from (its picture aside): what reindexing encodes again."""
    return Item(
        key=row.key,
        modality=Modality(row.modality),
        kind=ItemKind(row.kind),
        text=row.text,
        page=row.page,
        start=row.start,
        end=row.end,
        t=row.t,
        extra=dict(row.extra or {}),
    )
