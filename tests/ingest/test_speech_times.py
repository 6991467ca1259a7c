"""Speech hits point to the sentence that answers, not to a 30 s window; names heard as written.

A narrated recording of over three minutes (espeak-ng), twelve questions that paraphrase its
sentences rather than quote them: the top hit's start–end must overlap the answering
sentence (±2 s) and stay short, while item_start/item_end keep the whole item for context.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidex.db import documents
from omnidex.ingest.intake import add_file
from omnidex.ingest.worker import Worker
from omnidex.runtime import Runtime
from omnidex.types import DocStatus
from tests.files import recording, speak, write_audio

LECTURE = [
    "Good afternoon, and welcome to this short history of the Brannock canal.",
    "The canal was dug between seventeen ninety and seventeen ninety eight.",
    "Most of the digging was done by hand, with picks, shovels and wheelbarrows.",
    "The workers were paid in tokens that could only be spent at the company shop.",
    "At its busiest, the canal carried coal from the hill mines down to the river port.",
    "A loaded barge was pulled by a single horse walking along the towpath.",
    "The journey from the mines to the port took about two days.",
    "There were nineteen locks, and the steepest flight had seven of them in a row.",
    "Lock keepers lived in small stone cottages beside each lock with their families.",
    "In winter the canal often froze, and ice breaking boats were rocked from side to side.",
    "The railway arrived in eighteen forty six and took most of the coal trade within ten years.",
    "By nineteen hundred only a few barges still carried timber and grain.",
    "The last commercial cargo was a load of bricks delivered in nineteen thirty one.",
    "After that the canal was abandoned, and many stretches filled with reeds and silt.",
    "In the nineteen seventies volunteers began to clear the channel on weekends.",
    "They raised money by selling cakes and by sponsored walks along the towpath.",
    "The restored canal reopened to boats in two thousand and four.",
    "Today the towpath is part of a long distance cycling route.",
    "Kingfishers, otters and water voles have returned to the quieter stretches.",
    "Narrow boats can be hired by the week from the basin at the top of the locks.",
    "The old lock keeper's cottage at the top lock is now a small museum.",
    "The museum opens on weekends from Easter until the end of October.",
    "Entry is free, but visitors are asked to leave a donation for the volunteers.",
    "A small cafe in the old stables serves soup and sandwiches to walkers.",
    "The canal society meets on the first Tuesday of every month in the village hall.",
    "New members are always welcome, and no experience of boats is needed.",
    "Each spring the society runs a festival with boat trips and a brass band.",
    "The festival raised enough money last year to repair two of the lock gates.",
    "The gates are made of oak and last around twenty five years before they rot.",
    "Replacing a single pair of gates costs about forty thousand pounds.",
    "A crane lifts the old gates out while the lock is drained and empty.",
    "Schools visit the museum to learn how the locks raise and lower the boats.",
    "Children can try turning a real windlass on the practice paddle outside.",
    "Thank you for listening, and enjoy your walk along the canal.",
]
# (question, the sentence that answers it)
QUESTIONS = [
    ("When was the waterway built?", 1),
    ("How were the labourers paid for their work?", 3),
    ("What pulled the boats along?", 5),
    ("How long did a trip down to the harbour take?", 6),
    ("How many locks are there in total?", 7),
    ("What happened to the water in the cold months?", 9),
    ("What took the coal business away from the canal?", 10),
    ("What was the final load carried for money?", 12),
    ("How did the volunteers fund the restoration?", 15),
    ("Which animals can be seen along the canal now?", 18),
    ("Where can I rent a boat?", 19),
    ("When is the museum open?", 21),
]
GAP_SECONDS = 1.0


@pytest.fixture(scope="module")
def lecture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[float, float]]]:
    """The lecture as MP3, with each sentence's true start and end."""
    pieces, spans, at = [], [], 1.0
    for sentence in LECTURE:
        voice = speak(sentence)
        pieces.append((at, voice))
        spans.append((at, at + len(voice) / 16_000))
        at = spans[-1][1] + GAP_SECONDS
    path = write_audio(tmp_path_factory.mktemp("lecture") / "canal-history.mp3", recording(pieces, at + 1))
    return path, spans


def test_the_top_hit_points_to_the_answering_sentence(
    runtime: Runtime, lecture: tuple[Path, list[tuple[float, float]]]
) -> None:
    path, spans = lecture
    assert spans[-1][1] >= 180, "the recording is over three minutes long"
    doc_id = add_file(runtime.db, runtime.blobs, path, "default").document.id
    Worker(runtime.db, runtime.pipeline).run_once()
    assert documents.get_document(runtime.db, "default", doc_id).status == DocStatus.READY

    found = 0
    for question, answer in QUESTIONS:
        top = runtime.retriever.search("default", question, top_k=3).hits[0]
        assert top.start is not None
        assert top.end is not None
        assert top.item_start is not None
        assert top.item_end is not None
        assert top.item_start <= top.start < top.end <= top.item_end
        assert top.end - top.start <= 12.0
        start, end = spans[answer]
        hit = top.start <= end + 2.0 and top.end >= start - 2.0
        found += hit
        verdict = "ok  " if hit else "MISS"
        print(f"{verdict} {question!r}: {top.start:.1f}–{top.end:.1f} s, true {start:.1f}–{end:.1f}")
    print(f"{found} of {len(QUESTIONS)} top hits overlap the answering sentence")
    # Measured: 10 of 12. The two misses are the models' limits, kept as they are: Whisper
    # tiny.en hears "otters and water voles" as "auto and water molds", and MiniLM ranks "carried
    # coal from the hill mines" above "took most of the coal trade" for who took the coal business.
    assert found >= 10
