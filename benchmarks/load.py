"""Searching under load while files are being ingested: 50 clients for 60 s, twice.

`omnidex serve` runs in a child process on a fresh data dir with the evaluation set's twenty
documents. Then 50 client threads search as fast as they can, with the set's questions, for
``--seconds``, while another thread keeps uploading new documents. It runs three times: as
before (the torch text encoder, each query encoded alone), with the int8 ONNX encoder and each
query alone (OMNIDEX_QUERY_BATCH_MS=0, the default), and with concurrent queries gathered into
batches for 3 ms (OMNIDEX_QUERY_BATCH_MS=3). It prints errors, p50/p95 latency and throughput
for each, and the throughput ratios against the first and of batched against one by one.

Run: ``python -m benchmarks.load [--clients 50] [--seconds 60]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.text_ingest import percentile
from tests.evalset import QUESTIONS
from tests.evalset import build as build_evalset
from tests.files import make_pdf
from tests.serve import launch_serve, wait_healthy

DOCUMENT_SUFFIXES = {".pdf", ".docx", ".pptx", ".md", ".html", ".txt"}
# How the service encodes queries in each run: as it did before (torch, each query alone), the
# int8 ONNX encoder with each query alone (the default), and concurrent queries batched.
MODES = [
    ("before", {"OMNIDEX_TEXT_BACKEND": "torch", "OMNIDEX_QUERY_BATCH_MS": "0"}),
    ("one by one", {"OMNIDEX_QUERY_BATCH_MS": "0"}),
    ("batched", {"OMNIDEX_QUERY_BATCH_MS": "3"}),
]


@dataclass
class Run:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    uploaded: int = 0
    seconds: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def row(self) -> str:
        done = len(self.latencies)
        return (
            f"{self.name:<14} {done:>8} {len(self.errors):>7} {percentile(self.latencies, 0.5) * 1000:>8.0f}"
            f" {percentile(self.latencies, 0.95) * 1000:>8.0f} {done / self.seconds:>8.1f} {self.uploaded:>9}"
        )


class Service:
    """`omnidex serve` on a data dir of its own, in a child process."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.process, self.url = launch_serve(data_dir, **env)
        wait_healthy(self.process, self.url)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def questions() -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [row["question"] for row in rows if row["modality"] == "text"]


def ingest_and_wait(url: str, paths: list[Path]) -> None:
    with httpx.Client(base_url=url, timeout=600) as client:
        files = [("files", (path.name, path.read_bytes())) for path in paths]
        ids = {doc["id"] for doc in client.post("/v1/documents", files=files).json()["documents"]}
        while True:
            listed = client.get("/v1/documents", params={"limit": 1000}).json()["documents"]
            if all(doc["status"] in ("ready", "failed") for doc in listed if doc["id"] in ids):
                return
            time.sleep(0.2)


def keep_uploading(url: str, folder: Path, stop: threading.Event, run: Run) -> None:
    """New, distinct documents one after another until ``stop``."""
    with httpx.Client(base_url=url, timeout=120) as client:
        while not stop.is_set():
            n = run.uploaded
            path = make_pdf(
                folder / f"log-{n:04d}.pdf",
                [
                    [
                        f"Ship log {n}: the cutter Wren{n} anchored off skerry {n} in a force {n % 9} gale. "
                        * 20
                    ]
                ],
            )
            response = client.post("/v1/documents", files=[("files", (path.name, path.read_bytes()))])
            if response.status_code != 202:
                run.errors.append(f"upload {response.status_code}")
            run.uploaded += 1
            stop.wait(1.0)


def search_until(
    url: str, asked: list[str], offset: int, deadline: float, run: Run, lock: threading.Lock
) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        n = offset
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = client.post("/v1/search", json={"query": asked[n % len(asked)], "top_k": 5})
                ok = response.status_code == 200 and response.json()["hits"]
                error = None if ok else f"search {response.status_code}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            took = time.perf_counter() - started
            with lock:
                if error:
                    run.errors.append(error)
                else:
                    run.latencies.append(took)
            n += 1


def measure(name: str, corpus: list[Path], clients: int, seconds: float, **env: str) -> Run:
    run = Run(name)
    with tempfile.TemporaryDirectory(prefix="omnidex-load-") as scratch:
        service = Service(Path(scratch) / "data", **env)
        try:
            ingest_and_wait(service.url, corpus)
            uploads = Path(scratch) / "uploads"
            uploads.mkdir()
            stop, lock = threading.Event(), threading.Lock()
            uploader = threading.Thread(target=keep_uploading, args=(service.url, uploads, stop, run))
            uploader.start()
            asked = questions()
            started = time.monotonic()
            deadline = started + seconds
            threads = [
                threading.Thread(target=search_until, args=(service.url, asked, n, deadline, run, lock))
                for n in range(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            run.seconds = time.monotonic() - started
            stop.set()
            uploader.join()
        finally:
            service.stop()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="omnidex-evalset-") as folder:
        build_evalset(Path(folder))
        corpus = sorted((Path(folder) / "files").iterdir())
        corpus = [
            path for path in corpus if path.suffix in {".pdf", ".docx", ".pptx", ".md", ".html", ".txt"}
        ]
        runs = [measure(name, corpus, args.clients, args.seconds, **env) for name, env in MODES]
    print(f"{args.clients} clients searching for {args.seconds:.0f} s while documents are uploaded")
    print(f"{'':<14} {'searches':>8} {'errors':>7} {'p50 ms':>8} {'p95 ms':>8} {'per s':>8} {'uploads':>9}")
    for run in runs:
        print(run.row())
        if run.errors:
            print(f"  errors: {sorted(set(run.errors))[:5]}")
    before = runs[0].throughput
    for run in runs[1:]:
        print(f"throughput {run.name} ÷ {runs[0].name}: {run.throughput / before:.2f}")
    print(f"throughput batched ÷ one by one (same encoder): {runs[2].throughput / runs[1].throughput:.2f}")


if __name__ == "__main__":
    main()
