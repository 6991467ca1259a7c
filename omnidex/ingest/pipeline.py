"""One document, from its stored bytes to points in Qdrant and rows in the database.

Items are streamed from the partitioner and encoded in batches, so a long
video or a large PDF never has all its pictures in memory at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omnidex.blobs import BlobStore
from omnidex.db.models import DocumentRow, ItemRow
from omnidex.encoders import ImageEncoder, SparseEncoder, TextEncoder
from omnidex.encoders.asr import WhisperTranscriber
from omnidex.errors import IngestError
from omnidex.ingest import images
from omnidex.ingest.audio import group_segments, probe_audio, transcribe_file
from omnidex.ingest.documents import partition_document
from omnidex.ingest.embedded import embedded_pictures
from omnidex.ingest.ocr import ocr_image
from omnidex.ingest.sniff import Sniffed, describe, sniff
from omnidex.ingest.video import extract_keyframes, probe_video
from omnidex.store import VectorStore
from omnidex.store.base import IMAGE_VECTOR, SPARSE_VECTOR, TEXT_VECTOR
from omnidex.types import Item, ItemKind, Modality, Point, point_id

# (fraction done, stage name) -> None; raises to abandon the document.
ProgressFn = Callable[[float, str], None]
READ_SHARE = 0.05
REPORT_SECONDS = 1.0
KEYFRAME_SIDE = 1280


@dataclass(slots=True)
class Pipeline:
    """Everything indexing needs; shared by all worker threads."""

    blobs: BlobStore
    store: VectorStore
    text_encoder: TextEncoder
    sparse_encoder: SparseEncoder
    image_encoder: ImageEncoder | None = None
    transcriber: WhisperTranscriber | None = None
    chunk_max_chars: int = 1200
    chunk_overlap_chars: int = 150
    batch_size: int = 64
    max_text_file_bytes: int = 64 * 1024**2
    max_image_pixels: int = 100_000_000
    ocr: bool = True
    ocr_timeout: float = 30.0
    keyframes_per_minute: float = 12.0
    max_pictures: int = 500

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
                for item, fraction in self.items(doc, self.blobs.path(doc.sha256), sniffed[doc.id]):
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

    def items(self, doc: DocumentRow, path: Path, sniffed: Sniffed) -> Iterator[tuple[Item, float]]:
        """The document's items with the fraction of it read so far."""
        size = path.stat().st_size
        if sniffed.mime.startswith("text/") and size > self.max_text_file_bytes:
            raise IngestError(
                f"this {describe(sniffed.mime)} file is {size / 2**20:,.0f} MiB of text; "
                f"the limit is {self.max_text_file_bytes / 2**20:,.0f} MiB (OMNIDEX_MAX_TEXT_FILE_BYTES)"
            )
        if sniffed.modality is Modality.IMAGE:
            loaded = images.load_image(path, self.max_image_pixels)
            yield self._picture(doc, "image", loaded, ItemKind.IMAGE, page=None, keep_copy=False), 1.0
        elif sniffed.modality is Modality.VIDEO:
            info = probe_video(path)
            if info.has_video:
                share = 0.5 if info.has_audio and self.transcriber else 1.0
                yield from ((item, share * f) for item, f in self._keyframes(doc, path, info.duration))
            if info.has_audio and self.transcriber is not None:
                modality = Modality.VIDEO if info.has_video else Modality.AUDIO
                done = 0.5 if info.has_video else 0.0
                yield from ((item, done + (1 - done) * f) for item, f in self._speech(path, modality))
            elif not info.has_video:
                raise IngestError(self._no_speech_reason("this file has only an audio track"))
        elif sniffed.modality is Modality.AUDIO:
            if self.transcriber is None:
                raise IngestError(self._no_speech_reason("this is an audio file"))
            yield from self._speech(path, Modality.AUDIO)
        else:
            yield from self._document(doc, path, sniffed)

    def _document(self, doc: DocumentRow, path: Path, sniffed: Sniffed) -> Iterator[tuple[Item, float]]:
        chunks = partition_document(
            path, sniffed.mime, max_chars=self.chunk_max_chars, overlap=self.chunk_overlap_chars
        )
        for index, chunk in enumerate(chunks):
            yield chunk, 0.8 * (index + 1) / len(chunks)
        for index, picture in enumerate(embedded_pictures(path, sniffed.mime)):
            if index >= self.max_pictures:
                break
            try:
                loaded = (
                    images.load_image(picture.data, self.max_image_pixels)
                    if picture.data is not None
                    else images.LoadedImage.of(images.to_rgb(picture.image))  # type: ignore[arg-type]
                )
            except IngestError:
                continue  # one unreadable picture does not fail its document
            if min(loaded.width, loaded.height) < images.MIN_EMBEDDED_SIDE:
                continue
            yield self._picture(doc, f"picture-{index:05d}", loaded, ItemKind.IMAGE, picture.page, True), 0.9

    def _speech(self, path: Path, modality: Modality) -> Iterator[tuple[Item, float]]:
        """Speech items with the fraction of the recording heard so far (decoded s / total s)."""
        assert self.transcriber is not None
        duration = probe_audio(path).duration
        for index, group in enumerate(group_segments(transcribe_file(path, self.transcriber))):
            item = Item(
                key=f"speech-{index:05d}",
                modality=modality,
                kind=ItemKind.SPEECH,
                text=" ".join(group.texts),
                start=group.start,
                end=group.end,
                extra={"language": group.language},
            )
            yield item, min(1.0, group.end / duration) if duration else 0.5

    def _no_speech_reason(self, what: str) -> str:
        return f"{what}, and speech recognition is off (OMNIDEX_SPEECH=false or no speech model)"

    def _keyframes(self, doc: DocumentRow, path: Path, duration: float) -> Iterator[tuple[Item, float]]:
        frames = extract_keyframes(path, max_per_minute=self.keyframes_per_minute)
        for index, frame in enumerate(frames):
            loaded = images.LoadedImage.of(frame.image)
            item = self._picture(doc, f"keyframe-{index:05d}", loaded, ItemKind.KEYFRAME, None, True)
            item.modality = Modality.VIDEO
            item.t, item.start, item.end = (
                round(frame.t, 3),
                round(frame.scene_start, 3),
                round(frame.scene_end, 3),
            )
            yield item, (frame.t / duration if duration else 0.5)

    def _picture(
        self,
        doc: DocumentRow,
        key: str,
        loaded: images.LoadedImage,
        kind: ItemKind,
        page: int | None,
        keep_copy: bool,
    ) -> Item:
        """An image item: thumbnail (and, for pictures not stored as files, a copy) saved, OCR read."""
        folder = self.blobs.derived_dir(doc.id)
        small = images.shrunk(loaded.image, images.ENCODE_SIDE)
        images.save_jpeg(small, folder / f"{key}.thumb.jpg", images.THUMB_SIDE)
        if keep_copy:
            images.save_jpeg(loaded.image, folder / f"{key}.jpg", KEYFRAME_SIDE, quality=90)
        text = ocr_image(loaded.image, timeout=self.ocr_timeout) if self.ocr else ""
        return Item(
            key=key,
            modality=Modality.IMAGE,
            kind=kind,
            text=text,
            page=page,
            extra={"width": loaded.width, "height": loaded.height, "ocr_text": text},
            image=small,
        )

    def encode(self, entries: Sequence[tuple[DocumentRow, str, Item]]) -> list[Point]:
        """One point per (document, its MIME type, item), with the vectors that apply to it."""
        items = [item for _, _, item in entries]
        with_text = [n for n, item in enumerate(items) if item.text.strip()]
        texts = [items[n].text for n in with_text]
        dense = dict(zip(with_text, self.text_encoder.encode(texts), strict=True))
        sparse = dict(zip(with_text, self.sparse_encoder.encode_documents(texts), strict=True))
        visual: dict[int, list[float]] = {}
        if self.image_encoder is not None:
            pictured = [n for n, item in enumerate(items) if item.image is not None]
            vectors = self.image_encoder.encode_images([items[n].image for n in pictured])
            visual = dict(zip(pictured, vectors, strict=True))
        encoders = self.encoder_versions()
        created_at = datetime.now(UTC).isoformat()
        points = []
        for n, (doc, mime, item) in enumerate(entries):
            named = {TEXT_VECTOR: dense[n]} if n in dense else {}
            if n in visual:
                named[IMAGE_VECTOR] = visual[n]
            points.append(
                Point(
                    id=point_id(doc.id, item.key),
                    vectors=named,
                    sparse={SPARSE_VECTOR: sparse[n]} if n in sparse else {},
                    payload=_payload(doc, mime, item, encoders, created_at),
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


def _nothing_found(sniffed: Sniffed) -> str:
    found = {
        Modality.AUDIO: "no speech was heard",
        Modality.VIDEO: "no frames or speech were found",
    }.get(sniffed.modality, "no text or pictures were found")
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
