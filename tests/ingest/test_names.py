"""Names heard as the document spells them: Whisper told the words on screen and in the file name.

The made-up names of this video ("Quillhaven", "Skerrow") are ones tiny.en turns into other
words without help; its title slide and header show them, and its file name carries one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidex.db import documents
from omnidex.encoders.whisper import WhisperTranscriber
from omnidex.ingest.intake import add_file
from omnidex.ingest.vocabulary import vocabulary
from omnidex.ingest.worker import Worker
from omnidex.media.audio import transcribe_file
from omnidex.runtime import Runtime
from omnidex.types import DocStatus
from tests.files import make_slide_deck, mux, recording, speak, write_audio

SLIDES = [
    (["Quillhaven and Skerrow Point", "A short guide for visitors"], 7.0),
    (["Opening hours", "Weekends, April to October"], 9.0),
    (["Getting here", "Bus 14 from the station"], 9.0),
]
SAID = [
    (0.5, "Welcome to Quillhaven, the small harbour village below Skerrow Point."),
    (7.5, "The lighthouse on Skerrow Point was built in eighteen sixty two."),
    (16.5, "The last keeper at Quillhaven, Agnes Mowbray, left the station in nineteen eighty five."),
]


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The narration alone (WAV) and the narrated video."""
    folder = tmp_path_factory.mktemp("guide")
    silent = make_slide_deck(
        folder / "silent.mp4",
        [lines for lines, _ in SLIDES],
        [seconds for _, seconds in SLIDES],
        title="Quillhaven Lighthouse Trust",
    )
    total = sum(seconds for _, seconds in SLIDES)
    voice = recording([(at, speak(text)) for at, text in SAID], total)
    narration = write_audio(folder / "narration.wav", voice)
    aac = write_audio(folder / "narration.m4a", voice)
    video = folder / "quillhaven-visitor-guide.mp4"
    mux(silent, aac, video)
    return narration, video


def test_the_vocabulary_comes_from_the_name_the_title_and_the_screen() -> None:
    words = vocabulary(
        "quillhaven-visitor_guide.mp4", "Skerrow Point Tour", "THE KEEPERS Agnes Mowbray 1985 and so on"
    )
    assert words is not None
    assert words.split() == [
        "Skerrow",
        "Point",
        "Tour",
        "Keepers",
        "Agnes",
        "Mowbray",
        "Quillhaven",
        "Visitor",
        "Guide",
    ]
    assert vocabulary("a.mp3") is None


def test_names_on_screen_are_heard_and_found(
    guide: tuple[Path, Path], transcriber: WhisperTranscriber, visual_runtime: Runtime
) -> None:
    narration, video = guide
    before = " ".join(segment.text for segment in transcribe_file(narration, transcriber))
    print(f"without the document's words: {before}")
    assert "Quillhaven" not in before, "tiny.en should mishear the name without help"

    doc_id = add_file(visual_runtime.db, visual_runtime.blobs, video, "default").document.id
    Worker(visual_runtime.db, visual_runtime.pipeline).run_once()
    assert documents.get_document(visual_runtime.db, "default", doc_id).status == DocStatus.READY
    _, items = documents.list_items(visual_runtime.db, "default", doc_id)
    after = " ".join(item.text for item in items if item.kind == "speech")
    print(f"with the document's words:    {after}")
    assert "Quillhaven" in after
    assert "Skerrow" in after

    top = visual_runtime.retriever.search("default", "who was the last keeper at Quillhaven?", top_k=5).hits[
        0
    ]
    assert top.kind == "speech", (top.kind, top.text)
    assert "last keeper" in top.text
    assert top.start is not None
    assert 15.5 <= top.start <= 19.0
