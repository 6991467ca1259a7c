"""Every supported document format, real-world and generated, through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidex.db import documents
from omnidex.ingest.intake import add_file
from omnidex.ingest.worker import Worker
from omnidex.runtime import Runtime
from omnidex.types import DocStatus
from tests.files import make_docx, make_pdf, make_pptx


def _index(runtime: Runtime, path: Path):  # type: ignore[no-untyped-def]
    doc_id = add_file(runtime.db, runtime.blobs, path, "default").document.id
    Worker(runtime.db, runtime.pipeline).run_once()
    row = documents.get_document(runtime.db, "default", doc_id)
    assert row.status == DocStatus.READY, row.error
    assert row.item_count > 0
    return row


def _top(runtime: Runtime, query: str, k: int = 5):  # type: ignore[no-untyped-def]
    return runtime.retriever.search("default", query, top_k=k).hits


EXTERNAL = [
    ("multimodal_test.pdf", "application/pdf", "Which animal is putting on sunscreen?", "Lion", 1),
    ("multimodal_test.docx", "wordprocessingml", "Which animal is putting on sunscreen?", "Lion", None),
    ("multimodal_test.pptx", "presentationml", "Which animal is putting on sunscreen?", "Lion", 3),
    ("embedded_table.pdf", "application/pdf", "BeautifulSoup4 html5lib lxml HTML parser", "html5lib", 1),
    ("woods_frost.docx", "wordprocessingml", "Stopping by Woods on a Snowy Evening", "Frost", None),
    ("woods_frost.pdf", "application/pdf", "Stopping by Woods on a Snowy Evening", "Frost", 1),
]


@pytest.mark.parametrize(("name", "mime", "query", "expected", "page"), EXTERNAL)
def test_external_documents(
    runtime: Runtime, external: Path, name: str, mime: str, query: str, expected: str, page: int | None
) -> None:
    row = _index(runtime, external / name)
    assert mime in (row.mime or "")
    hits = [hit for hit in _top(runtime, query) if expected in hit.text]
    assert hits, f"no hit mentioning {expected!r}"
    assert hits[0].source == name
    assert hits[0].page == page


def test_external_table_is_its_own_chunk(runtime: Runtime, external: Path) -> None:
    _index(runtime, external / "multimodal_test.docx")
    [table] = [hit for hit in _top(runtime, "Giraffe driving a car at the beach", 10) if hit.kind == "table"]
    assert table.text.startswith("Animal Activity Place")


def test_generated_pdf_keeps_pages(runtime: Runtime, tmp_path: Path) -> None:
    pages = [[f"Page {n} talks about topic number {n}."] for n in range(1, 4)]
    pages[1].append("The observatory on the hill records meteor showers every August.")
    _index(runtime, make_pdf(tmp_path / "three-pages.pdf", pages))
    top = _top(runtime, "When are meteor showers recorded?")[0]
    assert top.page == 2
    assert "observatory" in top.text


def test_generated_docx_with_table(runtime: Runtime, tmp_path: Path) -> None:
    table = [["City", "River"], ["Lyon", "Rhône"], ["Vienna", "Danube"]]
    _index(runtime, make_docx(tmp_path / "cities.docx", "Cities", ["A note on cities and rivers."], table))
    top = _top(runtime, "Which river flows through Vienna?")
    assert any("Danube" in hit.text and hit.kind == "table" for hit in top)


def test_generated_pptx_slides_are_pages(runtime: Runtime, tmp_path: Path) -> None:
    slides = [
        ("Welcome", "Agenda for the quarter."),
        ("Budget", "The kite festival budget doubled this year."),
    ]
    _index(runtime, make_pptx(tmp_path / "deck.pptx", slides))
    top = _top(runtime, "kite festival budget")[0]
    assert top.page == 2
    assert "kite festival" in top.text


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        (
            "page.html",
            "<html><head><title>T</title></head><body><h1>Glaciers</h1>"
            "<p>Glaciers carve fjords slowly over millennia.</p></body></html>",
            "text/html",
        ),
        (
            "notes.md",
            "# Glaciers\n\nGlaciers carve fjords slowly over millennia.\n\n- one\n- two\n",
            "text/markdown",
        ),
        (
            "notes.txt",
            "Glaciers carve fjords slowly over millennia.\n\nAnother paragraph about tea.\n",
            "text/plain",
        ),
    ],
)
def test_generated_text_formats(runtime: Runtime, tmp_path: Path, name: str, content: str, mime: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    row = _index(runtime, path)
    assert row.mime == mime
    assert "fjords" in _top(runtime, "what carves fjords?")[0].text


def test_long_text_is_split_with_overlap(runtime: Runtime, tmp_path: Path) -> None:
    runtime.pipeline.chunk_max_chars = 300
    runtime.pipeline.chunk_overlap_chars = 40
    sentences = " ".join(f"Sentence {n} mentions the number {n * 7}." for n in range(120))
    path = tmp_path / "long.txt"
    path.write_text(sentences)
    row = _index(runtime, path)
    assert row.item_count >= 10
    chunks = [hit.text for hit in _top(runtime, "Sentence mentions the number", 100)]
    assert all(len(chunk) <= 300 for chunk in chunks)


@pytest.mark.parametrize(
    ("name", "pages"),
    [
        ("multimodal_test.pptx", [1, 2, 2, 4]),
        ("multimodal_test.pdf", [1, 2, 3]),
        ("woods_frost.docx", [None, None]),
    ],
)
def test_external_pictures_inside_documents(
    runtime: Runtime, external: Path, name: str, pages: list[int | None]
) -> None:
    from sqlalchemy import select

    from omnidex.db.models import ItemRow

    row = _index(runtime, external / name)
    with runtime.db.session() as session:
        pictures = session.scalars(
            select(ItemRow).where(ItemRow.doc_id == row.id, ItemRow.kind == "image").order_by(ItemRow.key)
        ).all()
    assert [p.page for p in pictures] == pages
    assert all(runtime.blobs.derived_dir(row.id).joinpath(f"{p.key}.thumb.jpg").is_file() for p in pictures)
