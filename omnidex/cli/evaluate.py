"""``omnidex eval QUESTIONS.jsonl``: how well search finds what each question expects.

Each line is ``{"question": …}`` (or ``"audio"``/``"image"``: a file, relative to the
questions' folder), an optional ``"modality"`` to group it under, and ``"expected"``:
``{"source": file name, "page"?, "start"?, "end"?}``. For each group and overall it reports
recall@k (the source among the top k), MRR@k, hit@1, page-hit (the first hit from the source
is on the page), time-hit@k (a hit from the source within ±2 s of the expected span) and the
latency of the searches, as a table or (``--json``) as JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from omnidex import schemas
from omnidex.cli.common import PROGRESS_COLUMNS, KeyOption, UrlOption, app, console, err_console, or_exit
from omnidex.cli.local import connect
from omnidex.client import Client
from omnidex.errors import InvalidRequest

TIME_TOLERANCE = 2.0  # seconds either side of the expected span


@dataclass(frozen=True, slots=True)
class Question:
    modality: str
    expected: dict[str, Any]
    query: str | None = None
    audio: Path | None = None
    image: Path | None = None


@dataclass(slots=True)
class Outcome:
    question: str
    modality: str
    rank: int | None  # of the first hit from the expected source, within the top k
    page_hit: bool | None  # None where the question expects no page
    time_hit: bool | None  # None where it expects no span
    latency_ms: float
    top: list[str] = field(default_factory=list)


def read_questions(path: Path) -> list[Question]:
    """The questions of a JSONL file; raises InvalidRequest naming the line that is wrong."""
    questions = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            expected = dict(data["expected"])
            str(expected["source"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidRequest(
                f"{path.name} line {number}: not a question with an expected source"
            ) from exc
        media = {name: path.parent / data[name] for name in ("audio", "image") if data.get(name)}
        if not data.get("question") and not media:
            raise InvalidRequest(f"{path.name} line {number}: give a question, an audio or an image")
        default = "audio" if "audio" in media else "image" if "image" in media else "text"
        questions.append(
            Question(str(data.get("modality") or default), expected, data.get("question"), **media)
        )
    return questions


def ask(client: Client, question: Question, k: int) -> Outcome:
    started = time.perf_counter()
    found = client.search(question.query, image=question.image, audio=question.audio, top_k=k)
    latency = (time.perf_counter() - started) * 1000
    return score(question, found.hits[:k], latency)


def score(question: Question, hits: list[schemas.HitOut], latency_ms: float) -> Outcome:
    """How the hits fare against what the question expects."""
    expected = question.expected
    mine = [(rank, hit) for rank, hit in enumerate(hits, 1) if hit.source == expected["source"]]
    page_hit = None
    if expected.get("page") is not None:
        page_hit = bool(mine) and mine[0][1].page == expected["page"]
    time_hit = None
    if expected.get("start") is not None and expected.get("end") is not None:
        low, high = float(expected["start"]) - TIME_TOLERANCE, float(expected["end"]) + TIME_TOLERANCE
        time_hit = any(_overlaps(hit, low, high) for _, hit in mine)
    label = question.query or str(question.audio or question.image)
    top = [hit.source for hit in hits]
    return Outcome(
        label, question.modality, mine[0][0] if mine else None, page_hit, time_hit, latency_ms, top
    )


def _overlaps(hit: schemas.HitOut, low: float, high: float) -> bool:
    start = hit.start if hit.start is not None else hit.t
    end = hit.end if hit.end is not None else start
    return start is not None and end is not None and start <= high and end >= low


def summarize(outcomes: list[Outcome]) -> dict[str, float | int | None]:
    """recall@k, MRR@k, hit@1, page-hit and time-hit rates (None where no question asks),
    latency p50/p95 (ms) and the count."""
    count = len(outcomes)
    latencies = sorted(o.latency_ms for o in outcomes)
    pages = [o.page_hit for o in outcomes if o.page_hit is not None]
    times = [o.time_hit for o in outcomes if o.time_hit is not None]
    return {
        "questions": count,
        "recall": sum(o.rank is not None for o in outcomes) / count,
        "mrr": sum(1 / o.rank for o in outcomes if o.rank) / count,
        "hit_at_1": sum(o.rank == 1 for o in outcomes) / count,
        "page_hit": sum(pages) / len(pages) if pages else None,
        "time_hit": sum(times) / len(times) if times else None,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[min(count - 1, round(0.95 * (count - 1)))],
    }


def report(outcomes: list[Outcome], k: int) -> dict[str, Any]:
    groups = sorted({o.modality for o in outcomes})
    return {
        "k": k,
        "overall": summarize(outcomes),
        "by_modality": {g: summarize([o for o in outcomes if o.modality == g]) for g in groups},
        "questions": [asdict(o) for o in outcomes],
    }


@app.command("eval")
def evaluate(
    questions: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A JSONL file of questions.")
    ],
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many hits count.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """Measure search on your own questions: recall@k, MRR, hit@1, page- and time-hits, latency."""
    asked = or_exit(lambda: read_questions(questions))
    if not asked:
        err_console.print("no questions")
        raise typer.Exit(1)
    outcomes = []
    with connect(url, api_key) as client, Progress(*PROGRESS_COLUMNS, console=err_console) as progress:
        task = progress.add_task("asking", total=len(asked), stage="")
        for question in asked:
            outcomes.append(or_exit(partial(ask, client, question, k)))
            progress.update(task, advance=1, stage=f"{len(outcomes)}/{len(asked)}")
    result = report(outcomes, k)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    console.print(_table(result))
    for outcome in outcomes:
        if outcome.rank != 1 or outcome.time_hit is False or outcome.page_hit is False:
            where = f"rank {outcome.rank}" if outcome.rank else f"not in the top {k}"
            said = escape(f"({outcome.modality}) {outcome.question!r}: {where}; top: {outcome.top[:3]}")
            console.print(f"[yellow]miss[/yellow] {said}")


def _table(result: dict[str, Any]) -> Table:
    k = result["k"]
    table = Table(
        "", "questions", f"recall@{k}", f"MRR@{k}", "hit@1", "page-hit", f"time-hit@{k}", "p50 ms", "p95 ms"
    )
    rows = [*result["by_modality"].items(), ("overall", result["overall"])]
    for name, figures in rows:
        table.add_row(
            name,
            str(figures["questions"]),
            *(_rate(figures[key]) for key in ("recall", "mrr", "hit_at_1", "page_hit", "time_hit")),
            f"{figures['p50_ms']:.0f}",
            f"{figures['p95_ms']:.0f}",
        )
    return table


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
