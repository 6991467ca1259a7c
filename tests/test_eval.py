"""`omnidex eval` on omnidex's own evaluation set (tests/evalset): floors just under what it
measures, so that a change that finds less fails the build; and the metrics on made-up hits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from omnidex.cli import app
from omnidex.cli.evaluate import Question, _table, score, summarize
from omnidex.config import get_settings
from omnidex.schemas import HitOut
from tests.evalset import build

# Measured with the defaults (no CLIP weights, no reranker): see benchmarks/README.md.
FLOORS = {
    "text": {"recall": 1.0, "mrr": 0.97, "hit_at_1": 0.95, "page_hit": 0.85},
    "speech": {"recall": 0.95, "mrr": 0.85, "time_hit": 0.9},
    "video": {"recall": 1.0, "mrr": 0.95, "time_hit": 1.0},
}


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("OMNIDEX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OMNIDEX_VISUAL_SEARCH", "false")
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.mark.slow
def test_the_evaluation_set_meets_its_floors(data_dir: Path, tmp_path: Path) -> None:
    questions = build(tmp_path / "evalset")
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", str(questions.parent / "files")])
    assert ingested.exit_code == 0, ingested.output
    measured = runner.invoke(app, ["eval", str(questions), "--json"])
    assert measured.exit_code == 0, measured.output
    result = json.loads(measured.stdout)
    Console(width=150).print(_table(result))
    for group, floors in FLOORS.items():
        figures = result["by_modality"][group]
        for metric, floor in floors.items():
            assert figures[metric] >= floor, (group, metric, figures)
    assert result["by_modality"]["text"]["questions"] >= 40
    assert result["by_modality"]["speech"]["questions"] >= 10
    assert result["by_modality"]["video"]["questions"] >= 6


def _hit(
    source: str, page: int | None = None, start: float | None = None, end: float | None = None
) -> HitOut:
    return HitOut(
        id=source,
        score=0.0,
        modality="text",
        kind="chunk",
        doc_id="d",
        source=source,
        page=page,
        start=start,
        end=end,
        text="",
        media_url=None,
    )


def test_the_metrics_of_made_up_hits() -> None:
    paged = Question("text", {"source": "a.pdf", "page": 2}, "q1")
    timed = Question("speech", {"source": "talk.mp3", "start": 30.0, "end": 35.0}, "q2")
    missed = Question("text", {"source": "nowhere.pdf"}, "q3")
    outcomes = [
        score(paged, [_hit("b.pdf"), _hit("a.pdf", page=1), _hit("a.pdf", page=2)], 10.0),
        score(timed, [_hit("talk.mp3", start=36.5, end=40.0)], 30.0),
        score(missed, [_hit("a.pdf")], 20.0),
    ]
    assert [(o.rank, o.page_hit, o.time_hit) for o in outcomes] == [
        (2, False, None),
        (1, None, True),
        (None, None, None),
    ]
    overall = summarize(outcomes)
    assert overall["recall"] == pytest.approx(2 / 3)
    assert overall["mrr"] == pytest.approx((1 / 2 + 1) / 3)
    assert overall["hit_at_1"] == pytest.approx(1 / 3)
    assert (overall["page_hit"], overall["time_hit"]) == (0.0, 1.0)
    assert overall["p50_ms"] == 20.0
    late = score(timed, [_hit("talk.mp3", start=37.5, end=40.0)], 1.0)
    assert late.time_hit is False  # more than 2 s after the expected span


def test_a_bad_questions_file_is_refused(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "where?"}\n')
    result = CliRunner().invoke(app, ["eval", str(path)])
    assert result.exit_code == 2
    assert "line 1" in result.output
