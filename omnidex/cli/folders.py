"""`omnidex sync`: keep a folder or an S3 prefix indexed, once or (--watch) as it changes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from omnidex.cli.common import KeyOption, UrlOption, app, console, err_console, or_exit
from omnidex.cli.local import connect
from omnidex.client import Client
from omnidex.config import get_settings
from omnidex.sync.run import sync_once
from omnidex.sync.sources import Source, open_source

DEBOUNCE_MS = 500


@app.command()
def sync(
    target: Annotated[str, typer.Argument(help="A folder, or s3://bucket/prefix.")],
    watch: Annotated[bool, typer.Option("--watch", help="Keep following changes until stopped.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=1.0, help="Seconds between looks at a bucket with --watch.")
    ] = 60.0,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for the files sent to be indexed (or fail).")
    ] = True,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", envvar="OMNIDEX_S3_ENDPOINT_URL", help="An S3-compatible endpoint."),
    ] = None,
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """Upload new files, re-index changed ones (by content hash) and delete documents whose files
    are gone; each document keeps its file's path (or s3:// URL) as its source. Safe to run
    again, or after an interruption: it picks up where things stand."""
    source = or_exit(lambda: open_source(target, endpoint_url, get_settings().data_dir / "sync"))
    with connect(url, api_key) as client:
        failed = _sync_and_report(client, source, wait=wait)
        if not watch:
            raise typer.Exit(1 if failed else 0)
        err_console.print(f"[dim]watching {escape(source.prefix)} (Ctrl-C stops)[/dim]")
        try:
            for _ in _changes(target, interval):
                _sync_and_report(client, source, wait=wait, quiet_if_unchanged=True)
        except KeyboardInterrupt:
            return


def _changes(target: str, interval: float) -> Iterator[object]:
    """Yields whenever the source may have changed: file events for a folder, a timer for a bucket."""
    if target.startswith("s3://"):
        while True:
            time.sleep(interval)
            yield None
    from watchfiles import watch

    yield from watch(Path(target).expanduser(), debounce=DEBOUNCE_MS, raise_interrupt=True)


def _sync_and_report(client: Client, source: Source, *, wait: bool, quiet_if_unchanged: bool = False) -> bool:
    """One sync with a progress bar and a summary table; returns whether any file failed."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("looking", total=None)

        def counted(total: int) -> None:
            progress.update(task, total=total, description="syncing")

        def done(outcome: str, name: str) -> None:
            progress.update(
                task, advance=1 if outcome != "removed" else 0, description=f"{outcome} {name[-40:]}"
            )

        summary = or_exit(lambda: sync_once(client, source, wait=wait, on_file=done, on_count=counted))
    if quiet_if_unchanged and not summary.changed and not summary.failed:
        return False
    table = Table(title=f"sync of {source.prefix}", show_lines=False)
    table.add_column("")
    table.add_column("files", justify="right")
    table.add_column("examples")
    for label, names in (
        ("added", summary.added),
        ("updated", summary.updated),
        ("removed", summary.removed),
        ("unchanged", summary.unchanged),
        ("failed", list(summary.failed)),
    ):
        table.add_row(label, str(len(names)), escape(", ".join(Path(n).name for n in names[:3])))
    console.print(table)
    for name, why in summary.failed.items():
        err_console.print(f"[red]failed:[/red] {escape(name)}: {escape(why)}")
    return bool(summary.failed)
