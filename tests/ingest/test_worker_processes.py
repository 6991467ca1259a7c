"""Worker processes sharing one PostgreSQL queue and one Qdrant server; one is killed, one is stopped.

The API only enqueues (no worker threads); three `omnidex worker` processes
index 30 documents. One is SIGKILLed while it holds a document: its lease
runs out and another finishes the document. One gets SIGTERM while it holds
a document: it hands it back and exits cleanly. Every document ends ready,
once, and the points are exactly those a single in-process worker makes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from omnidex.api.app import create_app
from omnidex.config import Settings
from omnidex.db.models import DocumentRow
from omnidex.runtime import Runtime
from omnidex.types import DocStatus
from tests.conftest import upload, wait_until_done
from tests.files import make_pdf
from tests.postgres import create_database
from tests.qdrant_fake import FakeQdrant

DOCUMENTS = 30
LEASE_SECONDS = 3.0
PAGES = 4


def _pdfs(folder: Path) -> list[Path]:
    folder.mkdir()
    line = "Report {n}, page {page}: the keeper of lighthouse {n} logged storm {page}. "
    return [
        make_pdf(folder / f"report-{n:02d}.pdf", [[line.format(n=n, page=p) * 12] for p in range(PAGES)])
        for n in range(DOCUMENTS)
    ]


def _omnidex() -> str:
    found = shutil.which("omnidex") or str(Path(sys.executable).parent / "omnidex")
    assert Path(found).exists(), "the omnidex command is not installed"
    return found


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Started worker processes: killed and reaped after the test."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _holding(runtime: Runtime, process: subprocess.Popen[bytes]) -> str | None:
    """The document this worker process holds a lease on, if any."""
    with runtime.db.session() as session:
        owners = session.execute(
            select(DocumentRow.id, DocumentRow.lease_owner).where(DocumentRow.status == DocStatus.PROCESSING)
        ).all()
    return next((doc_id for doc_id, owner in owners if f":{process.pid}:" in (owner or "")), None)


def _wait_holding(runtime: Runtime, process: subprocess.Popen[bytes], timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while (held := _holding(runtime, process)) is None:
        assert process.poll() is None, "the worker died on its own"
        assert time.monotonic() < deadline, "the worker never took a document"
        time.sleep(0.05)
    return held


def test_killed_and_stopped_workers_lose_nothing(
    tmp_path: Path,
    postgres_server: str,
    qdrant_server: FakeQdrant,
    runtime: Runtime,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    pdfs = _pdfs(tmp_path / "pdfs")
    # What one worker alone makes of them: the embedded runtime, one document at a time.
    single_worker = runtime.make_worker()
    with TestClient(create_app(runtime=runtime, workers=0)) as local:
        upload(local, *pdfs)
        while single_worker.run_once():
            pass
    expected_points = runtime.store.count()
    assert expected_points >= DOCUMENTS * PAGES

    shared = Settings(
        data_dir=tmp_path / "shared",
        database_url=create_database(postgres_server),
        qdrant_url=qdrant_server.url,
        lease_seconds=LEASE_SECONDS,
        poll_seconds=0.1,
        workers=0,
        visual_search=False,
    )
    env = {
        **os.environ,
        "OMNIDEX_DATA_DIR": str(shared.data_dir),
        "OMNIDEX_DATABASE_URL": str(shared.database_url),
        "OMNIDEX_QDRANT_URL": qdrant_server.url,
        "OMNIDEX_LEASE_SECONDS": str(LEASE_SECONDS),
        "OMNIDEX_POLL_SECONDS": "0.1",
        "OMNIDEX_VISUAL_SEARCH": "false",
        "OMP_NUM_THREADS": "1",
    }
    api = Runtime(
        shared,
        text_encoder=runtime.text_encoder,
        sparse_encoder=runtime.sparse_encoder,
        transcriber=runtime.transcriber,
    )
    try:
        with TestClient(create_app(runtime=api, workers=0)) as client:  # the API only enqueues
            docs = upload(client, *pdfs)
            for n in range(3):
                with (tmp_path / f"worker-{n}.log").open("wb") as log:
                    workers.append(subprocess.Popen([_omnidex(), "worker"], env=env, stdout=log, stderr=log))
            killed, stopped, survivor = workers

            held_by_killed = _wait_holding(api, killed)
            killed.send_signal(signal.SIGKILL)
            assert killed.wait(timeout=30) == -signal.SIGKILL
            held_by_stopped = _wait_holding(api, stopped)
            stopped.send_signal(signal.SIGTERM)
            assert stopped.wait(timeout=120) == 0, (tmp_path / "worker-1.log").read_text()

            done = wait_until_done(client, [d["id"] for d in docs], timeout=600)
            assert survivor.poll() is None
        assert {d["status"] for d in done.values()} == {"ready"}, done
        with api.db.session() as session:
            rows = {row.id: row for row in session.scalars(select(DocumentRow))}
        points = api.store.count()
    finally:
        api.close()
    assert len(rows) == DOCUMENTS
    # The killed worker's document was claimed again once its lease ran out…
    assert rows[held_by_killed].attempts == 2
    # …the stopped worker's was handed back, which is not a failed attempt.
    assert rows[held_by_stopped].attempts == 1 or held_by_stopped == held_by_killed
    assert all(row.lease_owner is None for row in rows.values())
    assert sum(row.item_count for row in rows.values()) == expected_points
    assert points == expected_points  # no duplicate and no missing point
