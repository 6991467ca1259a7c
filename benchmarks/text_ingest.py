"""Text ingest and search benchmark: the whole service against its bare parts, in one run.

Prints:
- chunks/s through the pipeline (upload → ready, over HTTP) vs the bare text encoder on the
  same texts (target ratio ≥ 0.9);
- search latency p50/p95 through the API vs the bare store query for the same vector, and
  vs encode + store query in-process, at 1k and 100k stored points (target: the API adds
  ≤ 5 ms at p50).

Run: ``make bench`` (or ``python -m benchmarks.text_ingest --help``).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")

import httpx
import uvicorn
from sqlalchemy import select

from omnidex.api.app import create_app
from omnidex.client import Client
from omnidex.config import Settings
from omnidex.db.models import DocumentRow, ItemRow
from omnidex.ingest.pipeline import context_of, item_of
from omnidex.runtime import Runtime
from omnidex.store import HybridQuery, QueryFilter
from omnidex.types import DocStatus, Point, point_id
from tests.serve import wait_warm

WORDS = (
    "river harbour lantern keeper meadow stone ember violet copper signal orchard glacier canyon "
    "falcon beacon quarry willow thistle marble compass saddle lattice tundra reef ledger parchment "
    "kettle sparrow furnace bramble pylon estuary harvest mosaic cobalt juniper gravel anvil prism"
).split()


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 16))
    return " ".join(words).capitalize() + "."


def make_corpus(folder: Path, files: int, paragraphs: int, rng: random.Random) -> None:
    for n in range(files):
        body = "\n\n".join(
            " ".join(sentence(rng) for _ in range(rng.randint(6, 10))) for _ in range(paragraphs)
        )
        (folder / f"doc-{n:03d}.txt").write_text(body)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class LiveServer:
    def __init__(self, runtime: Runtime, workers: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            create_app(runtime=runtime, workers=workers), port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{self.port}"
        wait_warm(url)  # steady state: what the service warms up as it starts is not ingest time
        return url

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join()


def upload_and_wait(client: httpx.Client, paths: list[Path]) -> list[dict[str, object]]:
    """Upload in one request, then wait for them all with as few requests as a client can: on
    the event stream of the last one (the queue takes documents in order, so it is about the
    last done), then list them once, and wait again on any not done yet. (Listing every
    document ten times a second, as this did before, cost the server up to 5 % of the machine;
    one event stream per document, in turn, about 3 %.)"""
    files = [("files", (p.name, p.read_bytes())) for p in paths]
    ids = [d["id"] for d in client.post("/v1/documents", files=files).json()["documents"]]
    with Client(str(client.base_url), timeout=600) as omni:
        omni.wait(ids[-1:])
        while True:
            listed = {doc.id: doc for doc in omni.documents(limit=1000)}
            done = {i for i, doc in listed.items() if doc.status in (DocStatus.READY, DocStatus.FAILED)}
            waiting = [i for i in ids if i not in done]
            if not waiting:
                return [listed[i].model_dump(mode="json") for i in ids]
            omni.wait(waiting[-1:])


def ingest_round(runtime: Runtime, corpus: Path, url: str) -> tuple[float, float, int, list[str]]:
    """One round: ``corpus`` through the service, then its very texts through the bare encoder.

    Returns (pipeline chunks/s, encoder chunks/s, chunks, failed files).
    """
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=600) as client:
        docs = upload_and_wait(client, sorted(corpus.iterdir()))
    pipeline_seconds = time.perf_counter() - started
    failed = [str(d["name"]) for d in docs if d["status"] != "ready"]
    chunks = sum(int(d["item_count"]) for d in docs)  # type: ignore[call-overload]
    with runtime.db.session() as session:
        # The very texts the pipeline encoded: each chunk after its document's name.
        rows = session.execute(
            select(DocumentRow.name, ItemRow)
            .join(ItemRow, ItemRow.doc_id == DocumentRow.id)
            .where(DocumentRow.id.in_([d["id"] for d in docs]))
        )
        texts = [f"{context_of(name, item_of(row))}\n{row.text}" for name, row in rows]
    started = time.perf_counter()
    for start in range(0, len(texts), runtime.settings.text_batch_size):
        runtime.text_encoder.encode(texts[start : start + runtime.settings.text_batch_size])
    encoder_seconds = time.perf_counter() - started
    return chunks / pipeline_seconds, len(texts) / encoder_seconds, chunks, failed


def bench_ingest(runtime: Runtime, corpora: list[Path], url: str) -> None:
    """Each round ingests a corpus of its own (same size, other words), then encodes its texts
    bare, back to back: the machine's drift hits both alike, and the median ratio is the figure."""
    print(f"\n== ingest: {len(corpora)} rounds of {len(list(corpora[0].iterdir()))} files")
    ratios = []
    for n, corpus in enumerate(corpora, 1):
        pipeline_rate, encoder_rate, chunks, failed = ingest_round(runtime, corpus, url)
        ratios.append(pipeline_rate / encoder_rate)
        print(
            f"round {n}: {chunks} chunks   pipeline (upload → ready) {pipeline_rate:6.1f} chunks/s   "
            f"bare text encoder {encoder_rate:6.1f} chunks/s   ratio {ratios[-1]:.2f}"
            + (f"   FAILED: {failed}" if failed else "")
        )
    print(f"ratio pipeline / encoder, median   {statistics.median(ratios):5.2f}   (target ≥ 0.9)")


def bench_search(runtime: Runtime, url: str, label: str, repeat: int, rng: random.Random) -> None:
    """The same queries three ways, interleaved so the machine's drift hits all three alike."""
    queries = [" ".join(rng.choices(WORDS, k=4)) for _ in range(repeat)]
    retriever, tenant = runtime.retriever, runtime.settings.tenant

    def bare_store(query: str) -> None:
        dense, sparse = runtime.text_encoder.encode([query])[0], runtime.sparse_encoder.encode_query(query)
        request = HybridQuery(
            filter=QueryFilter(tenant),
            limit=10,
            prefetch_limit=40,
            dense={"text": dense},
            sparse={"sparse": sparse},
        )
        started = time.perf_counter()
        runtime.store.query(request)
        samples["bare store query"].append((time.perf_counter() - started) * 1000)

    def in_process(query: str) -> None:
        # On the runtime's query threads, as the API runs it: the difference is the API alone.
        started = time.perf_counter()
        runtime.query_executor.submit(retriever.search, tenant, query, top_k=10).result()
        samples["encode + store (in-process)"].append((time.perf_counter() - started) * 1000)

    samples: dict[str, list[float]] = {
        "bare store query": [],
        "encode + store (in-process)": [],
        "API over HTTP": [],
    }
    with httpx.Client(base_url=url, timeout=60) as client:

        def through_api(query: str) -> None:
            started = time.perf_counter()
            client.post("/v1/search", json={"query": query, "top_k": 10}).raise_for_status()
            samples["API over HTTP"].append((time.perf_counter() - started) * 1000)

        for warm_up in queries[:5]:
            in_process(warm_up)
            through_api(warm_up)
        for key in samples:
            samples[key].clear()
        for query in queries:
            bare_store(query)
            in_process(query)
            through_api(query)
    print(f"\n== search at {label} points ({runtime.store.count()} stored), {repeat} queries, interleaved")
    for name, values in samples.items():
        print(f"{name:30s} p50 {statistics.median(values):7.2f} ms   p95 {percentile(values, 0.95):7.2f} ms")
    api, inproc, bare = (statistics.median(samples[k]) for k in reversed(samples))
    print(f"API adds over encode + store  {api - inproc:+.2f} ms at p50 (target ≤ 5 ms)")
    print(f"API adds over bare store      {api - bare:+.2f} ms at p50 (includes encoding the query)")


def prefill(runtime: Runtime, total: int, rng: random.Random) -> None:
    """Synthetic points up to ``total``, with real vectors of random sentences."""
    batch = 512
    have = runtime.store.count()
    started = time.perf_counter()
    while have < total:
        texts = [sentence(rng) for _ in range(min(batch, total - have))]
        dense = [[rng.gauss(0, 1) for _ in range(runtime.text_encoder.dim)] for _ in texts]
        sparse = runtime.sparse_encoder.encode_documents(texts)
        runtime.store.upsert(
            [
                Point(
                    id=point_id("synthetic", f"p{have + i}"),
                    vectors={"text": d},
                    sparse={"sparse": s},
                    payload={
                        "tenant": runtime.settings.tenant,
                        "doc_id": "synthetic",
                        "modality": "text",
                        "kind": "chunk",
                        "text": t,
                        "source": "synthetic",
                    },
                )
                for i, (t, d, s) in enumerate(zip(texts, dense, sparse, strict=True))
            ]
        )
        have += len(texts)
    filled = time.perf_counter() - started
    started = time.perf_counter()
    runtime.store.optimize()
    optimized = time.perf_counter() - started
    print(f"\nprefilled to {have} points in {filled:.1f} s; optimize() took {optimized:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--paragraphs", type=int, default=30)
    parser.add_argument("--large", type=int, default=100_000, help="points for the second search run")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="ingest rounds, each on new files")
    args = parser.parse_args()
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        corpora = [Path(tmp) / f"corpus-{n}" for n in range(args.rounds)]
        for corpus in corpora:
            corpus.mkdir()
            make_corpus(corpus, args.files, args.paragraphs, rng)
        settings = Settings(data_dir=Path(tmp) / "data", poll_seconds=0.05, optimize_after_points=10**9)
        runtime = Runtime(settings)
        try:
            with LiveServer(runtime, workers=settings.workers) as url:
                bench_ingest(runtime, corpora, url)
                runtime.store.optimize()
                bench_search(runtime, url, "~1k", args.queries, rng)
            prefill(runtime, args.large, rng)
            with LiveServer(runtime, workers=0) as url:
                bench_search(runtime, url, f"{args.large // 1000}k", args.queries, rng)
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
