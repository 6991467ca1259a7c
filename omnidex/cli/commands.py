"""Every command, registered on one Typer app."""

from __future__ import annotations

from omnidex.cli import agents, evaluate, folders, queries, server
from omnidex.cli.common import app

__all__ = ["agents", "app", "evaluate", "folders", "queries", "server"]
