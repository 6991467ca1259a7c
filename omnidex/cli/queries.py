"""Commands that use the index through the client: ingest, search, ask (``--url`` or in-process)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from omnidex import schemas
from omnidex.cli.common import (
    FINAL,
    PROGRESS_COLUMNS,
    KeyOption,
    PictureOption,
    RecordingOption,
    UrlOption,
    app,
    console,
    err_console,
    or_exit,
)
from omnidex.cli.local import connect
from omnidex.client import Client
from omnidex.errors import OmnidexError
from omnidex.types import DocStatus

Summary = list[tuple[str, str, int, str]]  # (file, status, items, reason)


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            yield path
        else:
            err_console.print(f"[yellow]skipped[/yellow] {path}: no such file or folder")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """Index files with a progress bar, in this process or (--url) on a server; exits 1 if any failed."""
    files = list(_files(paths))
    if not files:
        err_console.print("nothing to index")
        raise typer.Exit(1)
    with connect(url, api_key) as client:
        summary = _upload_and_follow(client, files)
    table = Table("file", "status", "items", "reason")
    for name, status, items, reason in summary:
        colour = "green" if status == DocStatus.READY else "red"
        table.add_row(name, f"[{colour}]{status}[/{colour}]", str(items), reason)
    console.print(table)
    if not summary or any(status != DocStatus.READY for _, status, _, _ in summary):
        raise typer.Exit(1)


def _upload_and_follow(client: Client, files: list[Path]) -> Summary:
    """Upload with a bar per file (bytes sent), then follow indexing until every file is done."""
    summary: Summary = []
    with Progress(*PROGRESS_COLUMNS, console=console) as progress:
        queued: dict[str, tuple[str, TaskID]] = {}
        for path in files:
            task = progress.add_task(path.name, total=max(1, path.stat().st_size), stage="uploading")

            def sent(_: str, done: int, __: int, task: TaskID = task) -> None:
                progress.update(task, completed=done)

            try:
                [doc] = client.upload([path], progress=sent)
            except OmnidexError as exc:
                progress.update(task, stage="refused")
                summary.append((str(path), "refused", 0, exc.message))
                continue
            progress.update(task, total=1.0, completed=0.0, stage="queued")
            queued[doc.id] = (str(path), task)
        while queued:
            states = [client.document(doc_id) for doc_id in queued]
            for doc in states:
                done = doc.status == DocStatus.READY
                progress.update(
                    queued[doc.id][1], completed=1.0 if done else doc.progress, stage=doc.stage or doc.status
                )
            if all(doc.status in FINAL for doc in states):
                reasons = {doc.id: doc.error.message if doc.error else "" for doc in states}
                summary += [(queued[d.id][0], d.status, d.item_count, reasons[d.id]) for d in states]
                break
            time.sleep(0.3)
    return summary


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for.")] = None,
    image: PictureOption = None,
    audio: RecordingOption = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """Search by words, a picture (--image), a voice question (--audio), or several."""
    with connect(url, api_key) as client:
        found = or_exit(lambda: client.search(query, image=image, audio=audio, top_k=top_k))
    if as_json:
        sys.stdout.write(found.model_dump_json(indent=2) + "\n")
        return
    if found.transcript:
        console.print(f"[dim]heard:[/dim] {escape(found.transcript)}")
    if not found.hits:
        console.print("no hits")
    for rank, hit in enumerate(found.hits, 1):
        snippet = escape(" ".join(hit.text.split())[:240])
        score = f"[dim]score {hit.score:.4f}[/dim]"
        console.print(f"[bold]{rank}.[/bold] {escape(hit.source)} ({_where(hit)}) {score}\n   {snippet}")


class Mode(StrEnum):
    TALK = "talk"
    THINK = "think"
    AUTO = "auto"


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question, in words.")] = None,
    image: PictureOption = None,
    audio: RecordingOption = None,
    speak: Annotated[
        Path | None, typer.Option("--speak", dir_okay=False, help="Also answer aloud, into this WAV file.")
    ] = None,
    voice: Annotated[str | None, typer.Option(help="The speaking voice.")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", "-k", min=1, max=100)] = None,
    mode: Annotated[
        Mode,
        typer.Option(
            help="talk: answer at once; think: the reasoning model reasons first (shown dimmed); "
            "auto: think for comparisons across documents.",
        ),
    ] = Mode.TALK,
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """Answer a question from the index with the configured Qwen3-Omni, citing its sources."""
    printer = _AnswerPrinter(speak)
    with connect(url, api_key) as client:
        events = client.stream_answer(
            question,
            image=image,
            audio=audio,
            top_k=top_k,
            speak=speak is not None,
            voice=voice,
            mode=str(mode),
        )
        or_exit(lambda: printer.show_all(events))
    raise typer.Exit(printer.finish())


class _AnswerPrinter:
    """Prints an answer's events as they come; the speech goes to a WAV file."""

    def __init__(self, speak: Path | None) -> None:
        self.speak = speak
        self.pcm = bytearray()
        self.rate = 0
        self.hits: list[schemas.HitOut] = []
        self.code = 0
        self.thought = False

    def show(self, event: object) -> None:
        if isinstance(event, schemas.RetrievalEvent):
            self.hits = event.hits
            if event.transcript:
                console.print(f"[dim]heard:[/dim] {escape(event.transcript)}")
        elif isinstance(event, schemas.ThinkingEvent):
            err_console.print(event.text, end="", style="dim", markup=False, highlight=False, soft_wrap=True)
            self.thought = True
        elif isinstance(event, schemas.TextEvent):
            if self.thought:  # the answer starts on a line of its own, after the reasoning
                err_console.print()
                self.thought = False
            console.print(event.text, end="", markup=False, highlight=False)
        elif isinstance(event, schemas.AudioEvent):
            self.pcm += event.pcm()
            self.rate = event.sample_rate
        elif isinstance(event, schemas.NoticeEvent):
            err_console.print(f"[yellow]note:[/yellow] {escape(event.message)}")
        elif isinstance(event, schemas.ErrorEvent):
            err_console.print(f"\n[red]error ({event.part}):[/red] {escape(event.message)}")
            self.code = 1 if event.part == "answer" else self.code
        elif isinstance(event, schemas.CitationsEvent):
            console.print()
            for citation in event.citations:
                _print_source(f"[{citation.number}]", citation)
        elif isinstance(event, schemas.DoneEvent) and event.answer is None:
            for number, hit in enumerate(self.hits, 1):
                _print_source(f"{number}.", hit)

    def show_all(self, events: Iterable[object]) -> None:
        for event in events:
            self.show(event)

    def finish(self) -> int:
        from omnidex.generation.wire import wav_file

        if self.speak is not None and self.pcm:
            self.speak.write_bytes(wav_file(bytes(self.pcm), self.rate))
            err_console.print(
                f"[dim]speech: {len(self.pcm) / 2 / self.rate:.1f} s written to {self.speak}[/dim]"
            )
        return self.code


def _print_source(label: str, hit: schemas.HitOut) -> None:
    console.print(f"[bold]{escape(label)}[/bold] {escape(hit.source)} ({_where(hit)})")


def _where(hit: schemas.HitOut) -> str:
    if hit.page:
        return f"p. {hit.page}"
    if hit.t is not None:
        return f"{hit.kind} at {hit.t:.1f} s"
    if hit.start is not None and hit.end is not None:
        return f"{hit.kind} {hit.start:.1f}–{hit.end:.1f} s"
    return str(hit.kind)
