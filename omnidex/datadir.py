"""The data dir's lock: in the embedded shape (Qdrant Edge), one process owns the data dir."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from omnidex.config import Settings
from omnidex.errors import DataDirLocked


class DataDirLock:
    """An exclusive lock on the data dir, held for the life of the process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            raise DataDirLocked(
                f"the data dir {path.parent} is in use by {holder} (a running `omnidex serve`?): "
                "stop it, or talk to it over HTTP instead"
            ) from exc
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"pid {os.getpid()}")
        self._file.flush()

    def release(self) -> None:
        if not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


def lock_data_dir(settings: Settings) -> DataDirLock | None:
    """The data dir's lock in the embedded shape; None with a Qdrant server (many processes share it)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return None if settings.qdrant_url else DataDirLock(settings.lock_path)
