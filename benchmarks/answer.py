"""Answers: what omnidex adds on top of the generator, against a local fake with zero delay.

Prints, over N streamed ``/v1/answer`` requests:
- before the first upstream byte: (request sent → fake receives the generator request) minus
  the retrieval time omnidex reports, next to the same client → fake hop made directly
  (target: omnidex adds < 10 ms at p50/p95);
- per chunk: (fake sends a text delta → the client reads it through omnidex) against the
  client reading the fake directly (target: omnidex adds < 2 ms at p50/p95).

Both runs share the process, the machine and the HTTP client, so the difference is omnidex.
Run: ``python -m benchmarks.answer --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import httpx

from omnidex.api.app import create_app
from omnidex.config import Settings
from omnidex.ingest.intake import add_file
from omnidex.runtime import Runtime
from tests.omni_fakes import Script, serve, start, stop

QUESTION = "Which harbour reported strong winds this morning?"


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def direct(
    url: str, http: httpx.Client, rounds: int, arrivals: list[float]
) -> tuple[list[float], list[float]]:
    """The client → fake hop and the per-chunk latency with nothing in between."""
    hops, gaps = [], []
    body = {"model": "m", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    for _ in range(rounds):
        sent = time.perf_counter()
        with http.stream("POST", f"{url}/chat/completions", json=body) as response:
            for line in response.iter_lines():
                now = time.perf_counter()
                if line.startswith("data: {"):
                    gaps += _stamps(json.loads(line[6:]), now)
        hops.append((arrivals[-1] - sent) * 1000)
    return hops, gaps


def through_omnidex(
    url: str, http: httpx.Client, rounds: int, arrivals: list[float]
) -> tuple[list[float], list[float]]:
    overheads, gaps = [], []
    for _ in range(rounds):
        sent = time.perf_counter()
        retrieval = 0.0
        with http.stream("POST", f"{url}/v1/answer", json={"query": QUESTION, "stream": True}) as response:
            event = ""
            for line in response.iter_lines():
                now = time.perf_counter()
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "text":
                    gaps.append((now - float(json.loads(line[6:])["text"])) * 1000)
                elif line.startswith("data: ") and event == "done":
                    retrieval = json.loads(line[6:])["timings_ms"]["retrieval_ms"]
        overheads.append((arrivals[-1] - sent) * 1000 - retrieval)
    return overheads, gaps


def _stamps(chunk: dict, now: float) -> list[float]:
    out = []
    for choice in chunk.get("choices") or []:
        text = (choice.get("delta") or {}).get("content")
        if text:
            out.append((now - float(text)) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=100, help="answers per run (default 100)")
    parser.add_argument("--documents", type=int, default=50, help="small documents indexed (default 50)")
    args = parser.parse_args()

    fake = start("openai")
    fake.fake.script = Script(stamp=True)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            workers=0,
            generator="openai",
            generator_url=fake.fake.url,
            visual_search=False,
        )
        runtime = Runtime(settings)
        for n in range(args.documents):
            note = Path(folder) / f"note-{n}.txt"
            note.write_text(f"Note {n}: the harbour master at port {n} reported strong winds this morning.")
            add_file(runtime.db, runtime.blobs, note, settings.tenant)
        runtime.start_workers(1)
        while _pending(runtime):
            time.sleep(0.2)
        runtime.stop_workers()
        server, thread, url = serve(create_app(runtime=runtime, workers=0))
        try:
            with httpx.Client(timeout=30) as http:
                direct(fake.fake.url, http, 5, fake.fake.arrivals)  # warm up both paths
                through_omnidex(url, http, 5, fake.fake.arrivals)
                hops, direct_gaps = direct(fake.fake.url, http, args.rounds, fake.fake.arrivals)
                overheads, omnidex_gaps = through_omnidex(url, http, args.rounds, fake.fake.arrivals)
        finally:
            stop(server, thread)
            runtime.close()
            stop(fake.server, fake.thread)
    hop50, hop95 = percentiles(hops)
    pre50, pre95 = percentiles(overheads)
    d50, d95 = percentiles(direct_gaps)
    o50, o95 = percentiles(omnidex_gaps)
    print(
        f"answers: {args.rounds} streamed, {args.documents} documents indexed, fake generator with zero delay"
    )
    print("before the first upstream byte (excluding retrieval), ms:")
    print(f"  client → fake directly      p50 {hop50:7.2f}  p95 {hop95:7.2f}")
    print(f"  client → omnidex → fake     p50 {pre50:7.2f}  p95 {pre95:7.2f}")
    print(f"  omnidex adds                p50 {pre50 - hop50:7.2f}  p95 {pre95 - hop95:7.2f}   (target < 10)")
    print("per chunk, fake sends → client reads, ms:")
    print(f"  directly                    p50 {d50:7.2f}  p95 {d95:7.2f}")
    print(f"  through omnidex             p50 {o50:7.2f}  p95 {o95:7.2f}")
    print(f"  omnidex adds                p50 {o50 - d50:7.2f}  p95 {o95 - d95:7.2f}   (target < 2)")


def _pending(runtime: Runtime) -> bool:
    from omnidex.db import documents
    from omnidex.types import DocStatus

    rows = documents.list_documents(runtime.db, runtime.settings.tenant)
    return any(row.status not in (DocStatus.READY, DocStatus.FAILED) for row in rows)


if __name__ == "__main__":
    main()
