"""The documents table as a durable queue: claims, leases, resumption."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from omnidex.db import documents, queue
from omnidex.ingest.intake import add_file
from omnidex.ingest.worker import Worker
from omnidex.runtime import Runtime
from omnidex.store import HybridQuery, QueryFilter
from omnidex.types import DocStatus
from tests.files import make_pdf

PARAGRAPHS = [f"Paragraph {n} tells of lighthouse number {n} and its keeper." * 4 for n in range(30)]


def _queue_pdf(runtime: Runtime, tmp_path: Path, name: str = "long.pdf") -> str:
    pdf = make_pdf(tmp_path / name, [PARAGRAPHS[i : i + 5] for i in range(0, 30, 5)])
    return add_file(runtime.db, runtime.blobs, pdf, "default").document.id


def test_claims_oldest_first_and_never_twice(runtime: Runtime, tmp_path: Path) -> None:
    first = _queue_pdf(runtime, tmp_path, "a.pdf")
    second = add_file(runtime.db, runtime.blobs, make_pdf(tmp_path / "b.pdf", [["b"]]), "default").document.id
    a = queue.claim_next_job(runtime.db, "worker-a", 30)
    b = queue.claim_next_job(runtime.db, "worker-b", 30)
    assert (a and a.id, b and b.id) == (first, second)
    assert queue.claim_next_job(runtime.db, "worker-c", 30) is None


def test_heartbeat_of_a_lost_lease_raises(runtime: Runtime, tmp_path: Path) -> None:
    doc_id = _queue_pdf(runtime, tmp_path)
    assert queue.claim_next_job(runtime.db, "worker-a", 0.05) is not None
    time.sleep(0.1)
    reclaimed = queue.claim_next_job(runtime.db, "worker-b", 30)
    assert reclaimed is not None
    assert reclaimed.id == doc_id
    assert reclaimed.attempts == 2
    with pytest.raises(queue.LeaseLost):
        queue.heartbeat(runtime.db, doc_id, "worker-a", 30, progress=0.5)
    with pytest.raises(queue.LeaseLost):
        queue.finish_job(runtime.db, doc_id, "worker-a", "application/pdf", [])


def test_abandoned_document_is_finished_by_another_worker_without_duplicates(
    runtime: Runtime, tmp_path: Path
) -> None:
    runtime.pipeline.batch_size = 2
    doc_id = _queue_pdf(runtime, tmp_path)
    dead = queue.claim_next_job(runtime.db, "dead-worker", 0.2)
    assert dead is not None

    class Died(Exception):
        pass

    def die_midway(progress: float, stage: str) -> None:
        if stage == "indexing" and progress > 0.4:
            raise Died

    with pytest.raises(Died):
        runtime.pipeline.index(dead, die_midway)
    written = runtime.store.count("default")
    assert written > 0  # it got partway before dying

    time.sleep(0.3)  # its lease runs out
    survivor = Worker(runtime.db, runtime.pipeline, lease_seconds=30)
    assert survivor.run_once() == doc_id

    row = documents.get_document(runtime.db, "default", doc_id)
    assert row.status == DocStatus.READY
    assert row.attempts == 2
    assert runtime.store.count("default") == row.item_count > written
    hits = runtime.store.query(
        HybridQuery(
            filter=QueryFilter("default"),
            limit=100,
            dense={"text": runtime.text_encoder.encode(["keeper"])[0]},
        )
    )
    keys = [hit.payload["item_key"] for hit in hits]
    assert len(keys) == len(set(keys)) == row.item_count


def test_document_deleted_while_indexing_leaves_no_points(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.pipeline.batch_size = 2
    doc_id = _queue_pdf(runtime, tmp_path)
    worker = Worker(runtime.db, runtime.pipeline, lease_seconds=30)
    upsert = runtime.store.upsert

    def delete_then_upsert(points):  # type: ignore[no-untyped-def]
        if documents.sha256_in_use(runtime.db, documents_sha):
            documents.delete_document(runtime.db, "default", doc_id)
        upsert(points)

    documents_sha = documents.get_document(runtime.db, "default", doc_id).sha256
    monkeypatch.setattr(runtime.store, "upsert", delete_then_upsert)
    assert worker.run_once() == doc_id
    assert runtime.store.count("default") == 0


def test_too_many_attempts_fail_with_a_reason(runtime: Runtime, tmp_path: Path) -> None:
    doc_id = _queue_pdf(runtime, tmp_path)
    for attempt in range(3):
        assert queue.claim_next_job(runtime.db, f"crashing-{attempt}", 0.01) is not None
        time.sleep(0.02)
    Worker(runtime.db, runtime.pipeline, max_attempts=3).run_once()
    row = documents.get_document(runtime.db, "default", doc_id)
    assert row.status == DocStatus.FAILED
    assert row.error_code == "too_many_attempts"
    assert "interrupted 3 times" in (row.error or "")


def test_failed_duplicate_is_queued_again(runtime: Runtime, tmp_path: Path) -> None:
    doc_id = _queue_pdf(runtime, tmp_path)
    claimed = queue.claim_next_job(runtime.db, "w", 30)
    assert claimed is not None
    queue.fail_job(runtime.db, doc_id, "w", "corrupt_file", "broken")
    again = add_file(runtime.db, runtime.blobs, tmp_path / "long.pdf", "default")
    assert again.duplicate
    assert again.document.id == doc_id
    assert again.document.status == DocStatus.QUEUED
    assert again.document.error is None


def test_stopping_worker_hands_its_document_back(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.pipeline.batch_size = 2
    doc_id = _queue_pdf(runtime, tmp_path)
    stop = threading.Event()
    worker = Worker(runtime.db, runtime.pipeline, lease_seconds=30, poll_seconds=0.01)
    upsert = runtime.store.upsert

    def upsert_then_stop(points):  # type: ignore[no-untyped-def]
        upsert(points)
        stop.set()  # as SIGTERM does in `omnidex worker`

    monkeypatch.setattr(runtime.store, "upsert", upsert_then_stop)
    worker.run(stop)
    row = documents.get_document(runtime.db, "default", doc_id)
    assert row.status == DocStatus.QUEUED
    assert row.attempts == 0
    assert row.lease_owner is None

    monkeypatch.setattr(runtime.store, "upsert", upsert)
    assert Worker(runtime.db, runtime.pipeline).run_once() == doc_id
    row = documents.get_document(runtime.db, "default", doc_id)
    assert row.status == DocStatus.READY
    assert runtime.store.count("default") == row.item_count
