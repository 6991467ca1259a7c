"""One document, from its stored bytes to points in Qdrant and rows in the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omnidex.blobs import BlobStore
from omnidex.db.models import DocumentRow, ItemRow
from omnidex.encoders import SparseEncoder, TextEncoder
from omnidex.errors import IngestError
from omnidex.ingest.documents import partition_document
from omnidex.ingest.sniff import Sniffed, describe, sniff
from omnidex.store import VectorStore
from omnidex.store.base import SPARSE_VECTOR, TEXT_VECTOR
from omnidex.types import Item, Modality, Point, point_id

# (fraction done, stage name) -> None; raises to abandon the document.
ProgressFn = Callable[[float, str], None]
PARTITIONED_AT = 0.1


@dataclass(slots=True)
class Pipeline:
    """Everything indexing needs; shared by all worker threads."""

    blobs: BlobStore
    store: VectorStore
    text_encoder: TextEncoder
    sparse_encoder: SparseEncoder
    chunk_max_chars: int = 1200
    chunk_overlap_chars: int = 150
    batch_size: int = 64
    max_text_file_bytes: int = 64 * 1024**2

    def index(self, doc: DocumentRow, report: ProgressFn) -> tuple[Sniffed, list[ItemRow]]:
        """Index ``doc``; returns what it really is and its item rows. Raises IngestError."""
        path = self.blobs.path(doc.sha256)
        if not path.is_file():
            raise IngestError("the uploaded file is missing from the blob store; upload it again")
        report(0.0, "sniffing")
        sniffed = sniff(path, doc.name)
        report(0.02, "partitioning")
        items = self.partition(path, sniffed)
        report(PARTITIONED_AT, "encoding")
        # A previous attempt may have left points; ids are deterministic, but
        # clearing first also drops items a new parser version no longer makes.
        self.store.delete_document(doc.tenant, doc.id)
        done = 0
        for batch in _batches(items, self.batch_size):
            self.store.upsert(self.encode(doc, sniffed, batch))
            done += len(batch)
            report(PARTITIONED_AT + (1 - PARTITIONED_AT) * done / len(items), "encoding")
        return sniffed, [_item_row(doc.id, item) for item in items]

    def partition(self, path: Path, sniffed: Sniffed) -> list[Item]:
        size = path.stat().st_size
        if sniffed.mime.startswith("text/") and size > self.max_text_file_bytes:
            raise IngestError(
                f"this {describe(sniffed.mime)} file is {size / 2**20:,.0f} MiB of text; "
                f"the limit is {self.max_text_file_bytes / 2**20:,.0f} MiB (OMNIDEX_MAX_TEXT_FILE_BYTES)"
            )
        if sniffed.modality is Modality.TEXT:
            return partition_document(
                path, sniffed.mime, max_chars=self.chunk_max_chars, overlap=self.chunk_overlap_chars
            )
        raise IngestError(f"{sniffed.modality} files cannot be indexed yet")

    def encode(self, doc: DocumentRow, sniffed: Sniffed, items: Sequence[Item]) -> list[Point]:
        texts = [item.text for item in items]
        dense = self.text_encoder.encode(texts)
        sparse = self.sparse_encoder.encode_documents(texts)
        encoders = {
            TEXT_VECTOR: f"{self.text_encoder.name}@{self.text_encoder.version}",
            SPARSE_VECTOR: f"{self.sparse_encoder.name}@{self.sparse_encoder.version}",
        }
        created_at = datetime.now(UTC).isoformat()
        return [
            Point(
                id=point_id(doc.id, item.key),
                vectors={TEXT_VECTOR: vector},
                sparse={SPARSE_VECTOR: sparse_vector},
                payload=_payload(doc, sniffed, item, encoders, created_at),
            )
            for item, vector, sparse_vector in zip(items, dense, sparse, strict=True)
        ]


def _payload(
    doc: DocumentRow, sniffed: Sniffed, item: Item, encoders: dict[str, str], created_at: str
) -> dict[str, Any]:
    return {
        "tenant": doc.tenant,
        "doc_id": doc.id,
        "item_key": item.key,
        "modality": str(item.modality),
        "kind": str(item.kind),
        "source": doc.name,
        "mime": sniffed.mime,
        "page": item.page,
        "start": item.start,
        "end": item.end,
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
        text=item.text,
    )


def _batches(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
