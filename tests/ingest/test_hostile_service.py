"""Two hostile files among five ordinary ones, uploaded to a real `omnidex serve`.

A PDF of 30,000 tiny text objects and a 20 MiB text with no line break once held both
workers for half an hour and took the machine's memory. Now each is read in a reader
process with a budget: the ordinary files are ready before it runs out, the bad files end
failed with a plain reason (or ready), the whole service stays under 2 GB, and deleting a
document mid-way stops its work within seconds. SIGTERM mid-ingest stops the service within
10 s, and after a restart the interrupted document is indexed once.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.files import make_docx, make_object_storm_pdf, make_pdf, make_single_line_text
from tests.paths import leaked_paths
from tests.serve import launch_serve, wait_healthy, wait_warm

PARSE_TIMEOUT = 25
GB = 2**30


class Service:
    """`omnidex serve` in a child process, with its peak memory (PSS of its whole process tree)."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.process, self.url = launch_serve(data_dir, **env)
        self.peak = 0
        self.each: dict[int, int] = {}
        self._watching = True
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()
        wait_healthy(self.process, self.url, timeout=120)
        # Files arrive at a warm service: a first start's export is done, alone (it is in the peak).
        wait_warm(self.url)

    def _tree(self) -> list[psutil.Process]:
        """`omnidex serve` and every process under it (readers, their fork server), or none."""
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def memory(self) -> int:
        """The service's memory now: proportional set sizes, so pages its processes share count once."""
        total = 0
        for process in self._tree():
            try:
                pss = process.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += pss
            self.each[process.pid] = max(self.each.get(process.pid, 0), pss >> 20)
        return total

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self._tree():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def _watch(self) -> None:
        while self._watching and self.process.poll() is None:
            self.peak = max(self.peak, self.memory())
            time.sleep(0.2)

    def terminate(self) -> float:
        """SIGTERM; returns the seconds it took to exit."""
        self.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        self.process.wait(timeout=60)
        self._watching = False
        return time.monotonic() - started

    def kill(self) -> None:
        self._watching = False
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.kill()


def _upload(url: str, *paths: Path) -> dict[str, str]:
    files = [("files", (path.name, path.read_bytes())) for path in paths]
    response = httpx.post(f"{url}/v1/documents", files=files, timeout=120)
    assert response.status_code == 202, response.text
    return {doc["name"]: doc["id"] for doc in response.json()["documents"]}


def _documents(url: str) -> dict[str, dict]:
    listed = httpx.get(f"{url}/v1/documents", params={"limit": 100}, timeout=30).json()
    return {doc["name"]: doc for doc in listed["documents"]}


def _ordinary(folder: Path) -> list[Path]:
    folder.mkdir()
    made = [
        make_pdf(folder / "ferry.pdf", [["The ferry to Kellsay leaves at seven from pier four."]]),
        make_docx(folder / "orchard.docx", "Orchard", ["The orchard grows forty kinds of pear."]),
    ]
    for name, text in [
        ("bells.md", "# Bells\n\nThe bell tower rings twelve bells at noon.\n"),
        ("tides.txt", "High tide at the harbour came at half past three.\n"),
        ("kiln.html", "<html><body><h1>Kiln</h1><p>The kiln fires pots at 1200 degrees.</p></body></html>"),
    ]:
        (folder / name).write_text(text)
        made.append(folder / name)
    return made


def test_hostile_files_are_bounded_and_the_rest_keeps_working(
    tmp_path: Path, services: list[Service]
) -> None:
    storm = make_object_storm_pdf(tmp_path / "storm.pdf")
    line = make_single_line_text(tmp_path / "one-line.txt")
    ordinary = _ordinary(tmp_path / "ordinary")
    service = Service(tmp_path / "data", OMNIDEX_WORKERS="3", OMNIDEX_PARSE_TIMEOUT_S=str(PARSE_TIMEOUT))
    services.append(service)
    started = time.monotonic()
    ids = _upload(service.url, storm, line, *ordinary)

    # The ordinary files are ready before a bad file's budget could run out.
    while True:
        docs = _documents(service.url)
        if all(docs[path.name]["status"] == "ready" for path in ordinary):
            break
        assert time.monotonic() - started < PARSE_TIMEOUT, {n: d["status"] for n, d in docs.items()}
        time.sleep(0.2)
    print(f"ordinary files ready after {time.monotonic() - started:.1f} s")

    # The storm PDF ends within its budget: failed, with a reason a person understands.
    while (storm_doc := _documents(service.url)["storm.pdf"])["status"] not in ("ready", "failed"):
        assert time.monotonic() - started < PARSE_TIMEOUT + 15, storm_doc
        time.sleep(0.2)
    print(
        f"storm.pdf {storm_doc['status']} after {time.monotonic() - started:.1f} s: {storm_doc.get('error')}"
    )
    if storm_doc["status"] == "failed":
        message = storm_doc["error"]["message"]
        assert "to read" in message or "MB" in message
        assert not leaked_paths(message, tmp_path)

    # The long line is being read or indexed (or done); deleting it stops its work within 5 s.
    line_doc = _documents(service.url)["one-line.txt"]
    print(f"one-line.txt is {line_doc['status']} ({line_doc.get('stage')}) when deleted")
    assert httpx.delete(f"{service.url}/v1/documents/{ids['one-line.txt']}", timeout=30).status_code == 204
    time.sleep(5)
    before = service.cpu_seconds()
    time.sleep(2)
    busy = (service.cpu_seconds() - before) / 2
    print(f"CPU use 5 s after the delete: {busy:.2f} cores; peak memory {service.peak / GB:.2f} GB (PSS)")
    assert busy < 0.25
    print(f"peak memory by process (MB): {service.each}")
    assert service.peak < 2 * GB
    found = httpx.post(f"{service.url}/v1/search", json={"query": "ferry to Kellsay", "top_k": 3}, timeout=30)
    assert found.json()["hits"][0]["source"] == "ferry.pdf"


def test_sigterm_mid_ingest_exits_promptly_and_the_document_is_indexed_once(
    tmp_path: Path, services: list[Service]
) -> None:
    text = make_single_line_text(tmp_path / "long-read.txt", mib=1)
    data = tmp_path / "data"
    first = Service(data, OMNIDEX_WORKERS="1")
    services.append(first)
    doc_id = _upload(first.url, text)["long-read.txt"]
    deadline = time.monotonic() + 120
    while _documents(first.url)["long-read.txt"]["status"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1.0)
    took = first.terminate()
    print(f"SIGTERM mid-ingest: exited in {took:.1f} s with code {first.process.returncode}")
    assert took < 10
    # uvicorn re-raises the signal once it has shut down cleanly.
    assert first.process.returncode in (0, -signal.SIGTERM)
    with sqlite3.connect(data / "omnidex.db") as db:
        status, owner = db.execute(
            "SELECT status, lease_owner FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
    assert (status, owner) == ("queued", None), "the interrupted document went back to the queue"

    second = Service(data, OMNIDEX_WORKERS="1")
    services.append(second)
    deadline = time.monotonic() + 300
    while (doc := _documents(second.url)["long-read.txt"])["status"] != "ready":
        assert doc["status"] != "failed", doc
        assert time.monotonic() < deadline
        time.sleep(0.5)
    items = httpx.get(f"{second.url}/v1/documents/{doc_id}/items", timeout=30).json()
    keys = [item["id"] for item in items["items"]]
    assert len(keys) == len(set(keys)) == doc["item_count"]
    assert len(_documents(second.url)) == 1
