"""What every command shares: the Typer app, consoles, options, progress columns, error exits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

from omnidex.config import Settings
from omnidex.errors import OmnidexError
from omnidex.types import DocStatus

app = typer.Typer(
    help="omnidex: multimodal retrieval over Qdrant, with answers from Qwen3-Omni.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(
    help="API keys: each acts for one tenant as reader, writer or admin.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
console = Console()
err_console = Console(stderr=True)
FINAL = {DocStatus.READY, DocStatus.FAILED}
T = TypeVar("T")
UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="OMNIDEX_URL", help="A running server to talk to, instead of the data dir."),
]
KeyOption = Annotated[
    str | None, typer.Option("--api-key", envvar="OMNIDEX_API_KEY", help="The server's API key.")
]
PictureOption = Annotated[
    Path | None, typer.Option("--image", exists=True, dir_okay=False, help="A picture to ask with.")
]
RecordingOption = Annotated[
    Path | None, typer.Option("--audio", exists=True, dir_okay=False, help="A spoken question, recorded.")
]
PROGRESS_COLUMNS = (
    TextColumn("{task.description}"),
    BarColumn(),
    TaskProgressColumn(),
    TextColumn("{task.fields[stage]}"),
    TimeElapsedColumn(),
)


def setup_logging(settings: Settings) -> None:
    from omnidex.logs import setup_logging

    setup_logging(settings.log_level, settings.log_format)
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def or_exit(work: Callable[[], T]) -> T:
    """``work()``, or the error in words and exit status 2."""
    try:
        return work()
    except OmnidexError as exc:
        err_console.print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from exc
