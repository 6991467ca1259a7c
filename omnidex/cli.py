"""The ``omnidex`` command: serve, worker, ingest, search, ask."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from omnidex.config import Settings, get_settings
from omnidex.db import documents
from omnidex.errors import OmnidexError
from omnidex.types import DocStatus, Hit

if TYPE_CHECKING:
    from omnidex.db.models import DocumentRow
    from omnidex.runtime import Runtime

app = typer.Typer(
    help="omnidex: multimodal retrieval over Qdrant, with answers from Qwen3-Omni.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
FINAL = {DocStatus.READY, DocStatus.FAILED}
PictureOption = Annotated[
    Path | None, typer.Option("--image", exists=True, dir_okay=False, help="A picture to ask with.")
]
RecordingOption = Annotated[
    Path | None, typer.Option("--audio", exists=True, dir_okay=False, help="A spoken question, recorded.")
]


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def _runtime(settings: Settings) -> Runtime:
    from omnidex.runtime import Runtime

    try:
        return Runtime(settings)
    except OmnidexError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int | None, typer.Option(help="Ingest worker threads in this process.")] = None,
) -> None:
    """Run the API, the web UI and the ingest workers in one process."""
    import uvicorn

    from omnidex.api.app import create_app

    settings = get_settings()
    _setup_logging(settings)
    application = create_app(settings, workers=workers)
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def worker() -> None:
    """Run one ingest worker alone (the scale-out shape); SIGTERM hands the current document back."""
    settings = get_settings()
    _setup_logging(settings)
    runtime = _runtime(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        console.print(f"worker on {settings.resolved_database_url}: waiting for documents (Ctrl+C to stop)")
        runtime.make_worker().run(stop)
    finally:
        runtime.close()


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
def ingest(paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")]) -> None:
    """Index files in this process, with a progress bar; exits 1 if any file failed."""
    from omnidex.ingest.intake import add_file

    files = list(_files(paths))
    if not files:
        err_console.print("nothing to index")
        raise typer.Exit(1)
    settings = get_settings()
    _setup_logging(settings)
    logging.getLogger().setLevel(logging.WARNING)
    runtime = _runtime(settings)
    try:
        queued: dict[str, str] = {}
        for path in files:
            try:
                created = add_file(
                    runtime.db, runtime.blobs, path, settings.tenant, settings.max_upload_bytes
                )
            except OmnidexError as exc:
                err_console.print(f"[red]refused[/red] {path}: {exc.message}")
                continue
            queued[created.document.id] = str(path)
        if not queued:
            err_console.print("nothing to index")
            raise typer.Exit(1)
        rows = _index_with_progress(runtime, queued)
    finally:
        runtime.close()
    _print_summary(rows, queued)
    if any(row.status != DocStatus.READY for row in rows):
        raise typer.Exit(1)


def _index_with_progress(runtime: Runtime, queued: dict[str, str]) -> list[DocumentRow]:
    stop = threading.Event()
    thread = threading.Thread(target=runtime.make_worker().run, args=(stop,), daemon=True)
    thread.start()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
    )
    tenant = runtime.settings.tenant
    with Progress(*columns, console=console) as progress:
        tasks = {
            doc_id: progress.add_task(Path(name).name, total=1.0, stage="queued")
            for doc_id, name in queued.items()
        }
        while True:
            rows = [documents.get_document(runtime.db, tenant, doc_id) for doc_id in queued]
            for row in rows:
                progress.update(
                    tasks[row.id],
                    completed=row.progress if row.status != DocStatus.READY else 1.0,
                    stage=row.stage or row.status,
                )
            if all(row.status in FINAL for row in rows):
                break
            stop.wait(0.2)
    stop.set()
    thread.join()
    return rows


def _print_summary(rows: list[DocumentRow], queued: dict[str, str]) -> None:
    table = Table("file", "status", "items", "reason")
    for row in rows:
        colour = "green" if row.status == DocStatus.READY else "red"
        table.add_row(
            queued[row.id], f"[{colour}]{row.status}[/{colour}]", str(row.item_count), row.error or ""
        )
    console.print(table)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for.")] = None,
    image: PictureOption = None,
    audio: RecordingOption = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
) -> None:
    """Search the index in this process, by words, by a picture (--image), or both."""
    from omnidex.api.schemas import HitOut

    settings = get_settings()
    _setup_logging(settings)
    logging.getLogger().setLevel(logging.WARNING)
    runtime = _runtime(settings)
    try:
        result = runtime.retriever.search(
            settings.tenant,
            query,
            image=image.read_bytes() if image else None,
            audio=audio.read_bytes() if audio else None,
            top_k=top_k,
        )
    except OmnidexError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        runtime.close()
    if as_json:
        hits = [HitOut.from_hit(h).model_dump(mode="json") for h in result.hits]
        sys.stdout.write(
            json.dumps(
                {"hits": hits, "timings_ms": result.timings_ms, "transcript": result.transcript},
                indent=2,
            )
            + "\n"
        )
        return
    if result.transcript:
        console.print(f"[dim]heard:[/dim] {result.transcript}")
    if not result.hits:
        console.print("no hits")
    for rank, hit in enumerate(result.hits, 1):
        where = _where(hit)
        snippet = " ".join(hit.text.split())[:240]
        console.print(
            f"[bold]{rank}.[/bold] {hit.source} ({where}) [dim]score {hit.score:.4f}[/dim]\n   {snippet}"
        )


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
) -> None:
    """Answer a question from the index with the configured Qwen3-Omni, citing its sources."""
    import asyncio

    settings = get_settings()
    _setup_logging(settings)
    logging.getLogger().setLevel(logging.WARNING)
    runtime = _runtime(settings)
    try:
        code = asyncio.run(_answer(runtime, question, image, audio, speak, voice, top_k))
    finally:
        runtime.close()
    raise typer.Exit(code)


async def _answer(
    runtime: Runtime,
    question: str | None,
    image: Path | None,
    audio: Path | None,
    speak: Path | None,
    voice: str | None,
    top_k: int | None,
) -> int:
    """Print the answer as it streams; 0 when answered, 1 when the generator failed, 2 for a bad question."""
    from omnidex.generation import answer as events
    from omnidex.generation.wire import wav_file

    ask = events.Ask(
        query=question,
        image=image.read_bytes() if image else None,
        audio=audio.read_bytes() if audio else None,
        top_k=top_k or runtime.settings.answer_top_k,
        speak=speak is not None,
        voice=voice,
    )
    pcm, rate, code = bytearray(), 0, 0
    try:
        prepared = await runtime.answerer.prepare(runtime.settings.tenant, ask)
        async for event in runtime.answerer.answer(prepared):
            if isinstance(event, events.Retrieved) and event.found.transcript:
                console.print(f"[dim]heard:[/dim] {event.found.transcript}")
            elif isinstance(event, events.Text):
                console.print(event.text, end="", markup=False, highlight=False)
            elif isinstance(event, events.Audio):
                pcm += event.pcm
                rate = event.rate
            elif isinstance(event, events.Notice):
                err_console.print(f"[yellow]note:[/yellow] {event.message}")
            elif isinstance(event, events.Failed):
                err_console.print(f"\n[red]error ({event.part}):[/red] {event.message}")
                code = 1 if event.part == "answer" else code
            elif isinstance(event, events.Cited):
                console.print()
                for citation in event.citations:
                    console.print(
                        f"[bold][{citation.number}][/bold] {citation.hit.source} ({_where(citation.hit)})"
                    )
            elif isinstance(event, events.Finished) and event.answer is None:
                for number, source in enumerate(prepared.context.sources, 1):
                    console.print(f"[bold]{number}.[/bold] {source.hit.source} ({_where(source.hit)})")
    except OmnidexError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        return 2
    finally:
        if runtime.generator is not None:
            await runtime.generator.aclose()
    if speak is not None and pcm:
        speak.write_bytes(wav_file(bytes(pcm), rate))
        err_console.print(f"[dim]speech: {len(pcm) / 2 / rate:.1f} s written to {speak}[/dim]")
    return code


def _print_source(label: str, hit: Hit) -> None:
    console.print(f"[bold]{escape(label)}[/bold] {escape(hit.source)} ({_where(hit)})")


def _where(hit: Hit) -> str:
    if hit.page:
        return f"p. {hit.page}"
    if hit.t is not None:
        return f"{hit.kind} at {hit.t:.1f} s"
    if hit.start is not None and hit.end is not None:
        return f"{hit.kind} {hit.start:.1f}–{hit.end:.1f} s"
    return str(hit.kind)


if __name__ == "__main__":
    app()
