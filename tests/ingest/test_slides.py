"""Narrated slide decks made from one template: a keyframe per slide, found by what it shows.

Only the body's lines change from slide to slide (same background, header and footer), and key
frames come every 12 s, less often than the slides change: the cases that merged slides when
only key frames were compared, by a coarse colour grid.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidex.db import documents
from omnidex.ingest.intake import add_file
from omnidex.ingest.video import extract_keyframes
from omnidex.ingest.worker import Worker
from omnidex.runtime import Runtime
from omnidex.types import DocStatus
from tests.files import make_slide_deck, mux, recording, speak, write_audio

# (body lines on screen, what the narrator says meanwhile)
DECK = [
    (["Welcome to the annual review", "Presented by the harbour board"], "Good evening, and welcome."),
    (["Container traffic grew again", "Most of it through the north quay"], "Traffic kept growing."),
    (["Two new night ferry crossings", "Both run until two in the morning"], "The ferries run later now."),
    (["Dredging of the east basin", "Finished six weeks early"], "The basin work is done."),
    (["Cargo handled: 3.8 million tonnes", "A record for the port"], "Here is the year in one figure."),
    (["Next year: a new pilot boat", "And solar panels on the terminal roof"], "And now, our plans."),
    (["Questions from the audience", "Thank you for listening"], "Thank you."),
]
SLIDE_SECONDS = [4.5, 5.0, 4.0, 6.0, 5.5, 4.5, 5.0]
STARTS = [sum(SLIDE_SECONDS[:n]) for n in range(len(SLIDE_SECONDS))]


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("deck")
    silent = make_slide_deck(folder / "silent.mp4", [lines for lines, _ in DECK], SLIDE_SECONDS)
    voice = [(start + 0.3, speak(said)) for start, (_, said) in zip(STARTS, DECK, strict=True)]
    narration = write_audio(folder / "narration.m4a", recording(voice, sum(SLIDE_SECONDS)))
    narrated = folder / "annual-review.mp4"
    mux(silent, narration, narrated)
    return narrated


def test_one_keyframe_per_slide_within_a_second_of_its_change(deck: Path) -> None:
    frames = list(extract_keyframes(deck))
    assert len(frames) == len(DECK), [f.t for f in frames]
    for start, frame in zip(STARTS, frames, strict=True):
        assert start <= frame.t <= start + 1.0, (start, frame.t)
    assert [f.scene_end for f in frames[:-1]] == [f.t for f in frames[1:]]


@pytest.mark.parametrize(
    ("theme", "size"),
    [(("#101418", "#e8e8e8"), (1280, 720)), (("#ffffff", "#7a1f1f"), (640, 360))],
    ids=["dark-720p", "light-360p"],
)
def test_other_templates_and_sizes(tmp_path: Path, theme: tuple[str, str], size: tuple[int, int]) -> None:
    bodies = [
        ["Revenue reached 48.7 million"],
        ["Revenue reached 51.2 million"],
        ["Revenue reached 51.9 million"],
    ]
    bodies += [["Revenue reached 51.9 million", "and costs fell"]]
    video = make_slide_deck(tmp_path / "deck.mp4", bodies, [4.0, 4.0, 4.0, 4.0], theme=theme, size=size)
    frames = list(extract_keyframes(video))
    assert [round(f.t) for f in frames] == [0, 4, 8, 12], [f.t for f in frames]


def test_a_figure_shown_on_one_slide_finds_that_slide(visual_runtime: Runtime, deck: Path) -> None:
    doc_id = add_file(visual_runtime.db, visual_runtime.blobs, deck, "default").document.id
    Worker(visual_runtime.db, visual_runtime.pipeline).run_once()
    row = documents.get_document(visual_runtime.db, "default", doc_id)
    assert row.status == DocStatus.READY, row.error

    hits = visual_runtime.retriever.search(
        "default", "how many million tonnes of cargo were handled", top_k=5
    ).hits
    top = hits[0]
    assert top.kind == "keyframe", [(h.kind, h.text[:40]) for h in hits]
    slide_five = (STARTS[4], STARTS[4] + SLIDE_SECONDS[4])
    assert top.t is not None
    assert slide_five[0] <= top.t < slide_five[1]
    assert "3.8" in top.text
