"""Commands that run or administer a server over the data dir: serve, worker, reindex, migrate, keys."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from omnidex.cli.common import PROGRESS_COLUMNS, app, console, err_console, keys_app, or_exit, setup_logging
from omnidex.config import Settings, get_settings

if TYPE_CHECKING:
    import uvicorn

    from omnidex.db.engine import Database
    from omnidex.ingest.reindex import Reindexed


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
    from omnidex.api.app import create_app

    settings = get_settings()
    setup_logging(settings)
    address = host or settings.host
    if not _loopback(address) and not _has_keys():
        err_console.print(
            f"[red]error:[/red] refusing to serve on {address} without API keys: anyone who can reach it "
            "could read and delete everything. Create one with `omnidex keys create --role admin`, "
            "or serve on 127.0.0.1."
        )
        raise typer.Exit(2)
    application = create_app(settings, workers=0 if no_worker else workers)
    from uvicorn import Server

    Server(server_config(application, settings, address, port or settings.port)).run()


def server_config(application: Any, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """How `omnidex serve` runs the app: timeouts for slow clients, a cap on connections, and
    a bounded wait for open requests on SIGTERM."""
    import uvicorn

    from omnidex.api.connections import timely_protocol

    return uvicorn.Config(
        application,
        host=host,
        port=port,
        http=timely_protocol(settings.header_timeout_s, settings.body_timeout_s),
        limit_concurrency=settings.max_connections,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_s)),
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
    from omnidex.runtime import WorkerRuntime

    settings = get_settings()
    setup_logging(settings)
    with err_console.status("loading the models…", spinner="dots"):
        runtime = or_exit(lambda: WorkerRuntime(settings))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        console.print(f"worker on {runtime.db.safe_url}: waiting for documents (Ctrl+C to stop)")
        runtime.make_worker().run(stop)
    finally:
        runtime.close()


@app.command()
def reindex(
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="Keep the old index after the switch.")
    ] = False,
    captions: Annotated[
        bool,
        typer.Option(
            "--captions", help="Describe every picture, keyframe and sound again with OMNIDEX_CAPTIONER."
        ),
    ] = False,
) -> None:
    """Re-encode every item with the configured encoders into a new index, then switch searches to it.

    Nothing is parsed again. On a Qdrant server searches keep using the old collection until
    the switch (an alias update); the embedded store needs `omnidex serve` stopped. Run it
    again after an interruption: it resumes. With --captions, the captioner describes every
    picture, keyframe and sound without speech again, and the new captions are kept.
    """
    from omnidex.runtime import prepared_reindex

    settings = get_settings()
    setup_logging(settings)
    progress = Progress(*PROGRESS_COLUMNS, console=console)

    def run() -> Reindexed:
        with prepared_reindex(settings, captions=captions) as (reindexer, target), progress:
            task = progress.add_task(f"re-encoding into {target}", total=None, stage="")

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total, stage=f"{done}/{total} documents")

            return reindexer.run(target, progress=advance, keep_old=keep_old)

    result = or_exit(run)
    skipped = f", {result.skipped} already there" if result.skipped else ""
    console.print(
        f"searches now use {result.live} ({result.points:,} points from {result.documents} documents"
        f"{skipped}); {result.previous} was {'kept' if keep_old else 'removed'}"
    )


RoleOption = Annotated[
    str, typer.Option(help="reader (search, answer, read), writer (also upload and delete) or admin.")
]


def _database() -> Database:
    from omnidex.runtime import open_database

    return or_exit(lambda: open_database(get_settings()))


@app.command()
def migrate() -> None:
    """Bring the metadata database's schema to this version (safe to run while others start)."""
    from omnidex.db.engine import Database

    db = Database(get_settings().resolved_database_url)
    try:
        before, now = or_exit(db.migrate)
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
        row, secret = or_exit(lambda: keys.create_key(db, tenant, role, name))
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
        row = or_exit(lambda: keys.revoke_key(db, key_id))
    finally:
        db.close()
    console.print(f"revoked key {row.id} of tenant {escape(row.tenant)}")
