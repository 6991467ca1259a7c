"""Where this machine keeps things: a message a client sees must name none of them."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def server_paths(*more: Path) -> list[str]:
    """Folders whose names would give away the server's layout: the data and temp folders,
    the Python installation, the project, the home folder."""
    roots = {tempfile.gettempdir(), sys.prefix, sys.base_prefix, str(Path(__file__).parents[1])}
    roots |= {str(path) for path in more}
    if home := os.environ.get("HOME"):
        roots.add(home)
    return sorted(root for root in roots if len(root) > 1)


def leaked_paths(text: str, *more: Path) -> list[str]:
    """The server folders named in ``text``."""
    return [root for root in server_paths(*more) if root in text]
