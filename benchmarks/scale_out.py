"""Scale-out benchmark: documents/s with 1, 2 and 4 worker processes, and queue claims on PostgreSQL.

Prints:
- documents/s through ``omnidex worker`` processes sharing one PostgreSQL queue and one Qdrant
  (the stand-in server of the tests), for 1, 2 and 4 processes, and the speed-up over one.
  Timing starts once every worker has loaded its models, so start-up is not counted. The
  processes share this machine's cores: the speed-up can only approach min(workers, cores).
- queue claim latency p50/p95 on PostgreSQL (``FOR UPDATE SKIP LOCKED``) with 4 processes
  claiming concurrently, against 1 process claiming alone.

Needs PostgreSQL's binaries (Debian's ``postgresql``). Run: ``python -m benchmarks.scale_out``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")

from sqlalchemy import func, insert, select

from omnidex.blobs import LocalBlobStore
from omnidex.db import queue
from omnidex.db.engine import Database
from omnidex.db.models import DocumentRow, utcnow
from omnidex.ingest.intake import add_file
from omnidex.types import DocStatus
from tests import omni_fakes
from tests.files import make_pdf
from tests.postgres import cluster, create_database
from tests.qdrant_fake import FakeQdrant

LINE = "Report {n}, page {page}: the keeper of lighthouse {n} logged storm {page} and the tide. "


def make_corpus(folder: Path, count: int, pages: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        make_pdf(folder / f"report-{n:03d}.pdf", [[LINE.format(n=n, page=p) * 10] for p in range(pages)])
        for n in range(count)
    ]


def documents_per_second(server_url: str, qdrant_url: str, corpus: list[Path], workers: int) -> float:
    """Start ``workers`` processes, wait until all are ready, queue the corpus, time it to the end."""
    data = Path(tempfile.mkdtemp(prefix="omnidex-bench-"))
    url = create_database(server_url)
    env = {
        **os.environ,
        "OMNIDEX_DATA_DIR": str(data),
        "OMNIDEX_DATABASE_URL": url,
        "OMNIDEX_QDRANT_URL": qdrant_url,
        "OMNIDEX_COLLECTION": data.name.replace("_", "-"),
        "OMNIDEX_POLL_SECONDS": "0.05",
        "OMNIDEX_VISUAL_SEARCH": "false",
        # Torch uses every core in each process: share them out instead of fighting over them.
        "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // workers)),
    }
    db = Database(url)
    db.migrate()
    command = [str(Path(sys.executable).parent / "omnidex"), "worker"]
    logs = [data / f"worker-{n}.log" for n in range(workers)]
    processes = []
    for log in logs:
        with log.open("wb") as handle:
            processes.append(subprocess.Popen(command, env=env, stdout=handle, stderr=handle))
    try:
        while not all("waiting for documents" in log.read_text() for log in logs):
            assert all(p.poll() is None for p in processes), "a worker died"
            time.sleep(0.1)
        blobs = LocalBlobStore(data / "blobs")
        started = time.perf_counter()
        for path in corpus:
            add_file(db, blobs, path, "default")
        while True:
            with db.session() as session:
                left = session.scalar(
                    select(func.count()).where(
                        DocumentRow.status.in_([DocStatus.QUEUED, DocStatus.PROCESSING])
                    )
                )
            if not left:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        with db.session() as session:
            ready = session.scalar(select(func.count()).where(DocumentRow.status == DocStatus.READY))
        assert ready == len(corpus), f"{ready} of {len(corpus)} ready"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        db.close()
    return len(corpus) / seconds


def _claimer(url: str, name: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    db = Database(url)
    latencies = []
    while True:
        started = time.perf_counter()
        job = queue.claim_next_job(db, name, 600)
        latencies.append(time.perf_counter() - started)
        if job is None:
            break
    db.close()
    results.put(latencies[:-1])  # the last one found the queue empty


def claim_latencies(server_url: str, jobs: int, claimers: int) -> list[float]:
    url = create_database(server_url)
    db = Database(url)
    db.migrate()
    rows = [
        {
            "id": f"{n:032x}",
            "tenant": "default",
            "name": f"doc-{n}.pdf",
            "mime": "application/pdf",
            "size": 1,
            "sha256": f"{n:064x}",
            "status": DocStatus.QUEUED,
            "progress": 0.0,
            "item_count": 0,
            "attempts": 0,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
        for n in range(jobs)
    ]
    with db.session() as session:
        session.execute(insert(DocumentRow), rows)
    db.close()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_claimer, args=(url, f"w{n}", results)) for n in range(claimers)]
    for process in processes:
        process.start()
    latencies: list[float] = []
    for _ in processes:
        latencies += results.get(timeout=600)
    for process in processes:
        process.join()
    assert len(latencies) == jobs, f"{len(latencies)} claims for {jobs} jobs"
    return latencies


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--documents", type=int, default=24, help="PDFs per run")
    parser.add_argument("--pages", type=int, default=4, help="pages per PDF")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--jobs", type=int, default=2000, help="queued rows for the claim benchmark")
    args = parser.parse_args()

    print(f"cores: {os.cpu_count()}")
    fake = FakeQdrant()
    server, thread, qdrant_url = omni_fakes.serve(fake.app())
    corpus = make_corpus(Path(tempfile.mkdtemp(prefix="omnidex-corpus-")), args.documents, args.pages)
    try:
        with cluster() as pg:
            rates = {n: documents_per_second(pg, qdrant_url, corpus, n) for n in args.workers}
            base = rates[args.workers[0]]
            print(
                f"\ningest, {args.documents} PDFs of {args.pages} pages (PostgreSQL queue, Qdrant over HTTP)"
            )
            for n, rate in rates.items():
                print(f"  {n} worker process(es): {rate:6.2f} documents/s  ×{rate / base:.2f}")

            alone = claim_latencies(pg, args.jobs, 1)
            crowded = claim_latencies(pg, args.jobs, 4)
            print(f"\nqueue claim on PostgreSQL, {args.jobs} queued documents")
            print(f"  1 claimer alone:   p50 {p(alone, 50):6.2f} ms  p95 {p(alone, 95):6.2f} ms")
            print(
                f"  4 claimers at once: p50 {p(crowded, 50):6.2f} ms  p95 {p(crowded, 95):6.2f} ms"
                f"  (p50 ×{p(crowded, 50) / p(alone, 50):.2f})"
            )
    finally:
        omni_fakes.stop(server, thread)


if __name__ == "__main__":
    main()
