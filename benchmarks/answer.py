"""Answers: what omnidex adds on top of the generator, against a local fake with zero delay.

Three processes, as deployed: this client, ``omnidex serve``, and a fake OpenAI-compatible
generator that stamps each text delta with the moment it was sent. Prints, over N streamed
``/v1/answer`` requests:
- before the first upstream byte: (request sent → the fake receives the generator request)
  minus the retrieval time omnidex reports, next to the same client → fake hop made directly
  (target: omnidex adds < 10 ms at p50 and p95);
- per chunk: (the fake sends a text delta → the client reads it through omnidex) against the
  client reading the fake directly (target: omnidex adds < 2 ms at p50 and p95).

With ``--pin`` omnidex runs on a core of its own and the client and the fake share another,
as when the generator and the clients are other machines. Unpinned, on a 2-core machine, the
three processes take turns on two cores, and that wait shows up as omnidex's.

Run: ``python -m benchmarks.answer --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import httpx

QUESTION = "Which harbour reported strong winds this morning?"
Sample = tuple[list[float], list[float]]


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def run_fake(port: int, chunk_ms: float) -> None:
    """The fake generator's process: stamped deltas, and GET /arrivals for when requests came."""
    import uvicorn
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.omni_fakes import FakeOmni, Script

    fake = FakeOmni("openai", Script(stamp=True, chunk_delay=chunk_ms / 1000))
    app = fake.app()
    app.router.routes.append(Route("/arrivals", lambda _: JSONResponse(fake.arrivals)))
    uvicorn.run(app, port=port, log_level="warning")


def direct(url: str, http: httpx.Client, rounds: int) -> tuple[list[float], list[float]]:
    """When each request was sent, and the per-chunk latency with nothing in between."""
    sent, gaps = [], []
    body = {"model": "m", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    for _ in range(rounds):
        sent.append(time.perf_counter())
        with http.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
            for line in response.iter_lines():
                now = time.perf_counter()
                if line.startswith("data: {"):
                    for choice in json.loads(line[6:]).get("choices") or []:
                        gaps += stamps((choice.get("delta") or {}).get("content") or "", now)
    return sent, gaps


def through_omnidex(url: str, http: httpx.Client, rounds: int) -> tuple[list[float], list[float]]:
    """When each request was sent (shifted by its retrieval time), and the per-chunk latency."""
    sent, gaps = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        with http.stream("POST", f"{url}/v1/answer", json={"query": QUESTION, "stream": True}) as response:
            event = ""
            for line in response.iter_lines():
                now = time.perf_counter()
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "text":
                    gaps += stamps(json.loads(line[6:])["text"], now)
                elif line.startswith("data: ") and event == "done":
                    retrieval = json.loads(line[6:])["timings_ms"]["retrieval_ms"]
        sent.append(started + retrieval / 1000)
    return sent, gaps


def stamps(text: str, now: float) -> list[float]:
    """How long ago, in ms, each stamped delta in ``text`` was sent (deltas may arrive joined)."""
    return [(now - float(stamp)) * 1000 for stamp in text.split(";") if stamp]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def index_notes(data_dir: Path, count: int) -> None:
    from omnidex.config import Settings
    from omnidex.ingest.intake import add_file
    from omnidex.runtime import Runtime

    runtime = Runtime(Settings(data_dir=data_dir, workers=0, visual_search=False))
    try:
        for n in range(count):
            note = data_dir / f"note-{n}.txt"
            note.write_text(f"Note {n}: the harbour master at port {n} reported strong winds this morning.")
            add_file(runtime.db, runtime.blobs, note, runtime.settings.tenant)
        worker = runtime.make_worker()
        while worker.run_once():
            pass
    finally:
        runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=100, help="answers per run (default 100)")
    parser.add_argument("--documents", type=int, default=50, help="small documents indexed (default 50)")
    parser.add_argument(
        "--chunk-ms", type=float, default=0.0, help="the fake's pause between chunks (default 0: a burst)"
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run omnidex on a core of its own, and the client and the fake on another, as when the "
        "generator and the clients are other machines (needs 2 cores)",
    )
    parser.add_argument("--fake", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake:
        run_fake(args.fake, args.chunk_ms)
        return

    fake_port, omnidex_port = free_port(), free_port()
    fake_url, omnidex_url = f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{omnidex_port}"
    with tempfile.TemporaryDirectory() as folder:
        index_notes(Path(folder), args.documents)
        env = dict(
            os.environ,
            OMNIDEX_DATA_DIR=folder,
            OMNIDEX_GENERATOR="openai",
            OMNIDEX_GENERATOR_URL=f"{fake_url}/v1",
            OMNIDEX_VISUAL_SEARCH="false",
            OMNIDEX_WORKERS="0",
            OMNIDEX_LOG_LEVEL="WARNING",
        )
        command = [sys.executable, "-m", "omnidex.cli", "serve", "--port", str(omnidex_port)]
        fake = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.answer",
                "--fake",
                str(fake_port),
                "--chunk-ms",
                str(args.chunk_ms),
            ]
        )
        server = subprocess.Popen(command, env=env)
        if args.pin:
            for pid, core in ((0, 0), (fake.pid, 0), (server.pid, 1)):
                os.sched_setaffinity(pid, {core})
        try:
            wait_for(f"{fake_url}/arrivals")
            wait_for(f"{omnidex_url}/healthz")
            with httpx.Client(timeout=30) as http:
                direct(fake_url, http, 5)  # warm up both paths
                through_omnidex(omnidex_url, http, 5)
                direct_sent, direct_gaps, omnidex_sent, omnidex_gaps = [], [], [], []
                for _ in range(args.rounds):  # alternated, so that both see the same noise
                    sent, gaps = direct(fake_url, http, 1)
                    direct_sent += sent
                    direct_gaps += gaps
                    sent, gaps = through_omnidex(omnidex_url, http, 1)
                    omnidex_sent += sent
                    omnidex_gaps += gaps
                arrivals = http.get(f"{fake_url}/arrivals").json()[10:]
        finally:
            for process in (server, fake):
                process.terminate()
                process.wait(timeout=30)
    hops = [(a - s) * 1000 for a, s in zip(arrivals[0::2], direct_sent, strict=True)]
    added = [(a - s) * 1000 for a, s in zip(arrivals[1::2], omnidex_sent, strict=True)]
    report(args, hops, added, direct_gaps, omnidex_gaps)


def report(
    args: argparse.Namespace,
    hops: list[float],
    added: list[float],
    direct_gaps: list[float],
    gaps: list[float],
) -> None:
    hop50, hop95 = percentiles(hops)
    pre50, pre95 = percentiles(added)
    d50, d95 = percentiles(direct_gaps)
    o50, o95 = percentiles(gaps)
    pace = f"{args.chunk_ms:g} ms between chunks" if args.chunk_ms else "chunks in a burst"
    pinned = "; omnidex on a core of its own" if args.pin else ""
    print(
        f"{args.rounds} streamed answers over {args.documents} documents; the fake generator: {pace}{pinned}"
    )
    print("before the first upstream byte (excluding retrieval), ms:")
    print(f"  client → fake directly      p50 {hop50:7.2f}  p95 {hop95:7.2f}")
    print(f"  client → omnidex → fake     p50 {pre50:7.2f}  p95 {pre95:7.2f}")
    print(f"  omnidex adds                p50 {pre50 - hop50:7.2f}  p95 {pre95 - hop95:7.2f}   (target < 10)")
    print("per chunk, the fake sends → the client reads, ms:")
    print(f"  directly                    p50 {d50:7.2f}  p95 {d95:7.2f}")
    print(f"  through omnidex             p50 {o50:7.2f}  p95 {o95:7.2f}")
    print(f"  omnidex adds                p50 {o50 - d50:7.2f}  p95 {o95 - d95:7.2f}   (target < 2)")


if __name__ == "__main__":
    main()
