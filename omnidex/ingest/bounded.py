"""Reading files in child processes, each call with a time and a memory budget.

A hostile file (a PDF of 30,000 tiny text objects, a 20 MiB line) can keep a
parser busy for an hour or take the machine's memory. Run in a child, it is
stopped when its time is up, when it asks for more memory than it may have
(``RLIMIT_AS``), or when its document is deleted or the service stops; the
worker then moves on. Children are started once and kept warm between files
(from a fork server, so they start clean of the parent's threads), and one
that is stopped is replaced on the next call.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from omnidex.errors import CorruptFile, IngestError, OmnidexError, reason

log = logging.getLogger(__name__)
T = TypeVar("T")
CHECK_SECONDS = 0.5  # how often a waiting call asks whether it should stop
NEAR_LIMIT = 32 * 2**20  # a reader that came this close to its memory limit may have lost data
PRELOAD = ["omnidex.ingest.reader_warmup"]


class ParseBudget:
    """The pool of reader processes, and the time and memory each call may take."""

    def __init__(
        self, *, timeout_s: float, memory_mb: int, size: int = 2, warm: Callable[[], None] | None = None
    ) -> None:
        self.timeout_s, self.memory_mb, self.size, self.warm = timeout_s, memory_mb, size, warm
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._closed = False
        self._warming: threading.Thread | None = None

    def prestart(self, after: Callable[[], None] = lambda: None) -> None:
        """Start the readers in the background, once ``after()`` returns: the first one to start
        loads the parser and its language model for all, which takes seconds the first file
        should not wait. ``warming`` is true from now until they are up."""
        self._warming = threading.Thread(target=self._prestart, args=(after,), name="readers", daemon=True)
        self._warming.start()

    def _prestart(self, after: Callable[[], None]) -> None:
        try:
            after()
            for _ in range(self.size):
                self._give_back(_ready(_Child(self.memory_mb, self.warm), self.timeout_s))
        except Exception:  # the first file will say what is wrong
            log.warning("the document readers could not be started ahead of time", exc_info=True)

    @property
    def warming(self) -> bool:
        """Whether readers started by ``prestart`` are still loading."""
        return self._warming is not None and self._warming.is_alive()

    def run(self, fn: Callable[..., T], *args: Any, what: str, check: Callable[[], None]) -> T:
        """``fn(*args)`` in a child. Raises what it raised, an IngestError when it overran its
        budget or crashed, or whatever ``check`` raised (it is called every half second, and
        stops the child when it raises: the document was deleted, the service is stopping)."""
        child = self._take()
        try:
            result = child.call(fn, args, what=what, timeout_s=self.timeout_s, check=check)
        except BaseException:
            if child.alive:
                self._give_back(child)
            raise
        self._give_back(child)
        return result

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for child in idle:
            child.stop()

    def _take(self) -> _Child:
        with self._lock:
            if self._closed:
                raise IngestError("the service is stopping")
            if self._idle:
                return self._idle.pop()
        return _Child(self.memory_mb, self.warm)

    def _give_back(self, child: _Child) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.size:
                self._idle.append(child)
                return
        child.stop()


def _ready(child: _Child, timeout_s: float) -> _Child:
    """``child``, once it answers a call (that is, once it has warmed up)."""
    child.call(_nothing, (), what="file", timeout_s=timeout_s, check=lambda: None)
    return child


def _nothing() -> None:
    return None


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


class _Child:
    """One reader process: takes (function, arguments), answers ("ok", result) or ("error", exception)."""

    def __init__(self, memory_mb: int, warm: Callable[[], None] | None) -> None:
        self.memory_mb = memory_mb
        ours, theirs = multiprocessing.Pipe()
        self.conn: Connection = ours
        self.process: BaseProcess = _context().Process(
            target=_serve, args=(theirs, memory_mb, warm), name="omnidex-reader", daemon=True
        )
        self.process.start()
        theirs.close()

    @property
    def alive(self) -> bool:
        return self.process.is_alive() and not self.conn.closed

    def call(
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        *,
        what: str,
        timeout_s: float,
        check: Callable[[], None],
    ) -> T:
        started = time.monotonic()
        try:
            self.conn.send((fn, args))
            while not self.conn.poll(CHECK_SECONDS):
                if time.monotonic() - started > timeout_s:
                    self.stop()
                    raise IngestError(
                        f"took longer than {timeout_s:.0f} s to read, so reading it was stopped: this {what} "
                        "is unusually complex (OMNIDEX_PARSE_TIMEOUT_S sets the limit)"
                    )
                try:
                    check()
                except BaseException:
                    self.stop()
                    raise
            status, value = self.conn.recv()
        except (EOFError, OSError, pickle.PickleError) as exc:
            self.stop()
            if isinstance(exc, pickle.PickleError):
                raise IngestError(f"could not read this {what}: {reason(exc)}") from exc
            raise CorruptFile(
                f"the reader crashed on this {what}: it is damaged, or needed more than "
                f"{self.memory_mb} MB (OMNIDEX_PARSE_MEMORY_MB sets the limit)"
            ) from exc
        if status == "error":
            if isinstance(value, MemoryError):
                self.stop()  # its peak stays near the limit: the next file gets a fresh reader
                raise CorruptFile(
                    f"this {what} needed more than {self.memory_mb} MB to read, so reading it was "
                    "stopped (OMNIDEX_PARSE_MEMORY_MB sets the limit)"
                )
            raise value
        return value  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


def _serve(conn: Connection, memory_mb: int, warm: Callable[[], None] | None) -> None:
    """The child's loop: warm up (load what every call needs), then calls until the parent
    closes the pipe."""
    if warm is not None:
        try:
            warm()
        except Exception:
            log.warning("a reader could not warm up", exc_info=True)
    limit = _limit_memory(memory_mb)
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result = fn(*args)
            # A parser may catch the MemoryError and carry on with half a document.
            conn.send(("error", MemoryError()) if _reached(limit) else ("ok", result))
        except MemoryError:
            conn.send(("error", MemoryError()))
        except Exception as exc:
            conn.send(("error", _portable(exc)))


def _portable(exc: Exception) -> Exception:
    """The exception as the parent can unpickle it: ours as they are, others as an IngestError."""
    if isinstance(exc, OmnidexError):
        try:
            pickle.loads(pickle.dumps(exc))
            return exc
        except Exception:
            return IngestError(exc.message)
    return IngestError(f"internal error while reading ({type(exc).__name__}: {reason(exc)})")


def _limit_memory(memory_mb: int) -> int | None:
    """Let the child's address space grow by ``memory_mb`` beyond what it holds now (its code
    and libraries), where the platform has RLIMIT_AS; returns the limit in bytes."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
        limit = pages * resource.getpagesize() + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return limit
    except (ImportError, OSError, ValueError) as exc:
        log.warning("no memory limit for readers here: %s", exc)
        return None


def _reached(limit: int | None) -> bool:
    """Whether this process's address space ever came within a few megabytes of ``limit``."""
    if limit is None:
        return False
    try:
        with open("/proc/self/status") as status:
            peak = next(line for line in status if line.startswith("VmPeak:"))
    except (OSError, StopIteration):
        return False
    return int(peak.split()[1]) * 1024 >= limit - NEAR_LIMIT
