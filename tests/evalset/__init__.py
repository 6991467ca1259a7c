"""omnidex's own evaluation set, generated the same way on every machine.

``build(folder)`` writes its 24 files into ``folder/files`` — twenty sibling documents (PDF,
DOCX, Markdown, HTML, text), two spoken recordings (espeak-ng) and two narrated slide videos
(PyAV) — and returns ``folder/questions.jsonl``: 40 text questions, 12 on the recordings and 6 on
the videos, each with the file (and page, or seconds) that answers it. Run it with
``omnidex eval``.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

from tests.evalset.documents import DOMAINS
from tests.evalset.media import DECKS, FIRST_SENTENCE_AT, RECORDINGS, SENTENCE_SLOT, SLIDE_SECONDS

QUESTIONS = Path(__file__).with_name("questions.jsonl")


def build(folder: Path) -> Path:
    """Write every file of the set into ``folder/files``; returns the questions' path."""
    files = folder / "files"
    files.mkdir(parents=True, exist_ok=True)
    for title, paragraphs, fillings in DOMAINS:
        for filling in fillings:
            write_document(
                files / filling["file"], title.format(**filling), [p.format(**filling) for p in paragraphs]
            )
    for name, sentences in RECORDINGS.items():
        write_recording(files / name, sentences)
    for name, title, bodies, said in DECKS:
        write_deck(files / name, title, bodies, said)
    return Path(shutil.copy(QUESTIONS, folder / QUESTIONS.name))


def write_document(path: Path, title: str, paragraphs: list[str]) -> None:
    """The document in the format its suffix names (a PDF puts its second half on page 2)."""
    from tests.files import make_docx, make_pdf

    suffix = path.suffix
    if suffix == ".pdf":
        half = len(paragraphs) // 2
        make_pdf(path, [[f"<b>{title}</b>", *paragraphs[:half]], paragraphs[half:]])
    elif suffix == ".docx":
        make_docx(path, title, paragraphs)
    elif suffix == ".md":
        path.write_text(f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n")
    elif suffix == ".html":
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        path.write_text(
            f"<html><head><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
        )
    else:
        path.write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n")


def write_recording(path: Path, sentences: list[str]) -> None:
    from tests.files import recording, speak, write_audio

    pieces = [(FIRST_SENTENCE_AT + SENTENCE_SLOT * n, speak(text)) for n, text in enumerate(sentences)]
    write_audio(path, recording(pieces, FIRST_SENTENCE_AT + SENTENCE_SLOT * len(sentences) + 1))


def write_deck(path: Path, title: str, bodies: list[list[str]], said: list[str]) -> None:
    from tests.files import make_slide_deck, mux, recording, speak, write_audio

    seconds = [SLIDE_SECONDS] * len(bodies)
    silent = make_slide_deck(path.with_suffix(".silent.mp4"), bodies, seconds, title=title)
    voice = recording([(SLIDE_SECONDS * n + 0.5, speak(text)) for n, text in enumerate(said)], sum(seconds))
    narration = write_audio(path.with_suffix(".m4a"), voice)
    mux(silent, narration, path)
    silent.unlink()
    narration.unlink()
