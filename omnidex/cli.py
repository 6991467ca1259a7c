"""The ``omnidex`` command: serve, worker, ingest, search, ask."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from omnidex.config import Settings, get_settings
from omnidex.db import documents
from omnidex.errors import OmnidexError
from omnidex.types import DocStatus

if TYPE_CHECKING:
    from omnidex.api.schemas import HitOut
    from omnidex.db.engine import Database
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
UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="OMNIDEX_URL", help="A running server to talk to, instead of the data dir."),
]
KeyOption = Annotated[
    str | None, typer.Option("--api-key", envvar="OMNIDEX_API_KEY", help="The server's API key.")
]
T = TypeVar("T")
PictureOption = Annotated[
    Path | None, typer.Option("--image", exists=True, dir_okay=False, help="A picture to ask with.")
]
RecordingOption = Annotated[
    Path | None, typer.Option("--audio", exists=True, dir_okay=False, help="A spoken question, recorded.")
]


def _setup_logging(settings: Settings) -> None:
    from omnidex.logs import setup_logging

    setup_logging(settings.log_level, settings.log_format)
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
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Only enqueue: `omnidex worker` processes index.")
    ] = False,
) -> None:
    """Run the API, the web UI and the ingest workers in one process."""
    import uvicorn

    from omnidex.api.app import create_app

    settings = get_settings()
    _setup_logging(settings)
    address = host or settings.host
    if not _loopback(address) and not _has_keys():
        err_console.print(
            f"[red]error:[/red] refusing to serve on {address} without API keys: anyone who can reach it "
            "could read and delete everything. Create one with `omnidex keys create --role admin`, "
            "or serve on 127.0.0.1."
        )
        raise typer.Exit(2)
    application = create_app(settings, workers=0 if no_worker else workers)
    uvicorn.run(
        application,
        host=address,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        # Logging is set up above; the API logs each request itself, with its id.
        log_config=None,
        access_log=False,
    )


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _has_keys() -> bool:
    from omnidex.db import keys

    db = _database()
    try:
        return keys.keys_exist(db)
    finally:
        db.close()


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
        console.print(f"worker on {runtime.db.safe_url}: waiting for documents (Ctrl+C to stop)")
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
    summary = _ingest_remote(files, url, api_key) if url else _ingest_here(files)
    table = Table("file", "status", "items", "reason")
    for name, status, items, reason in summary:
        colour = "green" if status == DocStatus.READY else "red"
        table.add_row(name, f"[{colour}]{status}[/{colour}]", str(items), reason)
    console.print(table)
    if not summary or any(status != DocStatus.READY for _, status, _, _ in summary):
        raise typer.Exit(1)


Summary = list[tuple[str, str, int, str]]  # (file, status, items, reason)
PROGRESS_COLUMNS = (
    TextColumn("{task.description}"),
    BarColumn(),
    TaskProgressColumn(),
    TextColumn("{task.fields[stage]}"),
    TimeElapsedColumn(),
)


def _ingest_here(files: list[Path]) -> Summary:
    from omnidex.ingest.intake import add_file

    settings = get_settings()
    _setup_logging(settings)
    logging.getLogger().setLevel(logging.WARNING)
    runtime = _runtime(settings)
    summary: Summary = []
    try:
        queued: dict[str, str] = {}
        for path in files:
            try:
                created = add_file(
                    runtime.db, runtime.blobs, path, settings.tenant, settings.max_upload_bytes
                )
            except OmnidexError as exc:
                summary.append((str(path), "refused", 0, exc.message))
                continue
            queued[created.document.id] = str(path)
        if queued:
            rows = _index_with_progress(runtime, queued)
            summary += [(queued[r.id], r.status, r.item_count, r.error or "") for r in rows]
    finally:
        runtime.close()
    return summary


def _index_with_progress(runtime: Runtime, queued: dict[str, str]) -> list[DocumentRow]:
    stop = threading.Event()
    thread = threading.Thread(target=runtime.make_worker().run, args=(stop,), daemon=True)
    thread.start()
    tenant = runtime.settings.tenant
    with Progress(*PROGRESS_COLUMNS, console=console) as progress:
        tasks = {
            doc_id: progress.add_task(Path(name).name, total=1.0, stage="queued")
            for doc_id, name in queued.items()
        }
        while True:
            rows = [documents.get_document(runtime.db, tenant, doc_id) for doc_id in queued]
            for row in rows:
                done = row.status == DocStatus.READY
                progress.update(
                    tasks[row.id], completed=1.0 if done else row.progress, stage=row.stage or row.status
                )
            if all(row.status in FINAL for row in rows):
                break
            stop.wait(0.2)
    stop.set()
    thread.join()
    return rows


def _ingest_remote(files: list[Path], url: str, api_key: str | None) -> Summary:
    """Upload with a bar per file (bytes sent), then follow indexing until every file is done."""
    from omnidex.client import Client

    summary: Summary = []
    with Client(url, api_key=api_key) as client, Progress(*PROGRESS_COLUMNS, console=console) as progress:
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
def reindex(
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="Keep the old index after the switch.")
    ] = False,
) -> None:
    """Re-encode every item with the configured encoders into a new index, then switch searches to it.

    Nothing is parsed again. On a Qdrant server searches keep using the old collection until
    the switch (an alias update); the embedded store needs `omnidex serve` stopped. Run it
    again after an interruption: it resumes.
    """
    from omnidex.reindex import Reindexed, prepared

    settings = get_settings()
    _setup_logging(settings)
    progress = Progress(*PROGRESS_COLUMNS, console=console)

    def run() -> Reindexed:
        with prepared(settings) as (reindexer, target), progress:
            task = progress.add_task(f"re-encoding into {target}", total=None, stage="")

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total, stage=f"{done}/{total} documents")

            return reindexer.run(target, progress=advance, keep_old=keep_old)

    result = _or_exit(run)
    skipped = f", {result.skipped} already there" if result.skipped else ""
    console.print(
        f"searches now use {result.live} ({result.points:,} points from {result.documents} documents"
        f"{skipped}); {result.previous} was {'kept' if keep_old else 'removed'}"
    )


keys_app = typer.Typer(
    help="API keys: each acts for one tenant as reader, writer or admin.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
RoleOption = Annotated[
    str, typer.Option(help="reader (search, answer, read), writer (also upload and delete) or admin.")
]


def _database() -> Database:
    from omnidex.db.engine import Database

    settings = get_settings()
    db = Database(settings.resolved_database_url)
    try:
        _or_exit(lambda: db.migrate(apply=settings.migrate_on_start))
    except BaseException:
        db.close()
        raise
    return db


@app.command()
def migrate() -> None:
    """Bring the metadata database's schema to this version (safe to run while others start)."""
    from omnidex.db.engine import Database

    db = Database(get_settings().resolved_database_url)
    try:
        before, now = _or_exit(db.migrate)
    finally:
        db.close()
    if before == now:
        console.print(f"{db.safe_url}: schema is up to date (revision {now})")
    else:
        console.print(f"{db.safe_url}: schema migrated from revision {before or 'none'} to {now}")


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="The tenant the key acts for.")] = "default",
    role: RoleOption = "reader",
    name: Annotated[str, typer.Option(help="A note to tell keys apart.")] = "",
) -> None:
    """Create a key and print it once: only its hash is stored."""
    from omnidex.db import keys

    db = _database()
    try:
        row, secret = _or_exit(lambda: keys.create_key(db, tenant, role, name))
    finally:
        db.close()
    err_console.print(f"key {row.id} for tenant {escape(row.tenant)} as {row.role}; it is shown only now:")
    console.print(secret, markup=False, highlight=False)


@keys_app.command("list")
def keys_list() -> None:
    """Every key, revoked ones included (never their secrets)."""
    from omnidex.db import keys

    db = _database()
    try:
        rows = keys.list_keys(db)
    finally:
        db.close()
    table = Table("id", "tenant", "role", "name", "created", "revoked")
    for row in rows:
        created = row.created_at.isoformat(timespec="seconds")
        revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else ""
        table.add_row(row.id, row.tenant, row.role, row.name, created, revoked)
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `omnidex keys list`).")],
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from omnidex.db import keys

    db = _database()
    try:
        row = _or_exit(lambda: keys.revoke_key(db, key_id))
    finally:
        db.close()
    console.print(f"revoked key {row.id} of tenant {escape(row.tenant)}")


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
    from omnidex.api.schemas import HitOut, SearchResponse

    if url:
        from omnidex.client import Client

        with Client(url, api_key=api_key) as client:
            found = _or_exit(lambda: client.search(query, image=image, audio=audio, top_k=top_k))
    else:
        settings = get_settings()
        _setup_logging(settings)
        logging.getLogger().setLevel(logging.WARNING)
        runtime = _runtime(settings)
        try:
            result = _or_exit(
                lambda: runtime.retriever.search(
                    settings.tenant,
                    query,
                    image=image.read_bytes() if image else None,
                    audio=audio.read_bytes() if audio else None,
                    top_k=top_k,
                )
            )
        finally:
            runtime.close()
        found = SearchResponse(
            hits=[HitOut.from_hit(h) for h in result.hits],
            timings_ms=result.timings_ms,
            transcript=result.transcript,
            image_text=result.image_text,
        )
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
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """Answer a question from the index with the configured Qwen3-Omni, citing its sources."""
    import asyncio

    printer = _AnswerPrinter(speak)
    if url:
        from omnidex.client import Client

        with Client(url, api_key=api_key) as client:
            events = client.stream_answer(
                question, image=image, audio=audio, top_k=top_k, speak=speak is not None, voice=voice
            )
            _or_exit(lambda: printer.show_all(events))
        raise typer.Exit(printer.finish())
    settings = get_settings()
    _setup_logging(settings)
    logging.getLogger().setLevel(logging.WARNING)
    runtime = _runtime(settings)
    try:
        asyncio.run(_answer_here(runtime, printer, question, image, audio, speak is not None, voice, top_k))
    finally:
        runtime.close()
    raise typer.Exit(printer.finish())


async def _answer_here(
    runtime: Runtime,
    printer: _AnswerPrinter,
    question: str | None,
    image: Path | None,
    audio: Path | None,
    speak: bool,
    voice: str | None,
    top_k: int | None,
) -> None:
    from omnidex.api.routes.answer import wire_event
    from omnidex.generation.answer import Ask

    ask = Ask(
        query=question,
        image=image.read_bytes() if image else None,
        audio=audio.read_bytes() if audio else None,
        top_k=top_k or runtime.settings.answer_top_k,
        speak=speak,
        voice=voice,
    )
    try:
        prepared = await runtime.answerer.prepare(runtime.settings.tenant, ask)
        async for event in runtime.answerer.answer(prepared):
            printer.show(wire_event(event)[1])
    except OmnidexError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        if runtime.generator is not None:
            await runtime.generator.aclose()


class _AnswerPrinter:
    """Prints an answer's events as they come; the speech goes to a WAV file."""

    def __init__(self, speak: Path | None) -> None:
        self.speak = speak
        self.pcm = bytearray()
        self.rate = 0
        self.hits: list[HitOut] = []
        self.code = 0

    def show(self, event: object) -> None:
        from omnidex.api import schemas

        if isinstance(event, schemas.RetrievalEvent):
            self.hits = event.hits
            if event.transcript:
                console.print(f"[dim]heard:[/dim] {escape(event.transcript)}")
        elif isinstance(event, schemas.TextEvent):
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


def _or_exit(work: Callable[[], T]) -> T:
    """``work()``, or the error in words and exit status 2."""
    try:
        return work()
    except OmnidexError as exc:
        err_console.print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from exc


def _print_source(label: str, hit: HitOut) -> None:
    console.print(f"[bold]{escape(label)}[/bold] {escape(hit.source)} ({_where(hit)})")


def _where(hit: HitOut) -> str:
    if hit.page:
        return f"p. {hit.page}"
    if hit.t is not None:
        return f"{hit.kind} at {hit.t:.1f} s"
    if hit.start is not None and hit.end is not None:
        return f"{hit.kind} {hit.start:.1f}–{hit.end:.1f} s"
    return str(hit.kind)


if __name__ == "__main__":
    app()
