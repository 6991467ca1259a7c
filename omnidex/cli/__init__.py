"""The ``omnidex`` command (an entry point): serve, worker, ingest, search, ask, keys, reindex.

``ingest``, ``search`` and ``ask`` talk through the Python client: to a server
with ``--url``, else to the API served in this process over a private socket
(``omnidex.cli.local``), so both ways run the same code. May import anything.
"""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    """The console script: the app, or a plain word when only the client is installed."""
    try:
        from omnidex.cli.commands import app
    except ImportError as exc:
        sys.stderr.write(
            f"the omnidex command needs the server's packages ({exc.name} is missing): "
            "pip install 'omnidex[server]'\n"
        )
        raise SystemExit(2) from exc
    app()


def __getattr__(name: str) -> Any:
    if name == "app":
        from omnidex.cli.commands import app

        return app
    raise AttributeError(name)
