"""`omnidex sync` on a temporary folder and on a bucket (moto's S3 server): adds, leaves what is
unchanged alone (no uploads, counted at the server), re-indexes an edited file so its old text
is gone, removes a deleted one's document, and with --watch picks up a new file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from omnidex.api.app import create_app
from omnidex.client import Client
from omnidex.runtime import Runtime
from omnidex.sync.run import sync_once
from omnidex.sync.sources import Folder, open_source
from tests import omni_fakes

pytestmark = pytest.mark.timeout(300)
NOTES = {
    "ferries.md": "# Ferries\n\nThe ferry to Kellsay leaves at seven from pier four.\n",
    "orchard/pears.txt": "The orchard grows forty kinds of pear and three of quince.\n",
    "library.html": "<html><body><h1>Library</h1><p>Members borrow six books.</p></body></html>",
}


class CountUploads:
    """Counts POST /v1/documents, the uploads, as they reach the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.uploads = app, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/v1/documents":
            self.uploads += 1
        await self.app(scope, receive, send)


@pytest.fixture
def served(runtime: Runtime) -> Iterator[tuple[str, CountUploads]]:
    counting = CountUploads(create_app(runtime=runtime, workers=1))
    server, thread, url = omni_fakes.serve(counting)  # type: ignore[arg-type]
    yield url, counting
    omni_fakes.stop(server, thread)


def write_notes(folder: Path) -> None:
    for name, text in NOTES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def best_source(client: Client, query: str) -> tuple[str, str] | None:
    hits = client.search(query, top_k=1).hits
    return (hits[0].source, hits[0].text) if hits else None


def test_a_folder_is_added_then_left_alone_then_follows_edits_and_deletions(
    served: tuple[str, CountUploads], tmp_path: Path
) -> None:
    url, counting = served
    folder = tmp_path / "notes"
    write_notes(folder)
    source = Folder(folder)
    with Client(url) as client:
        first = sync_once(client, source)
        assert sorted(first.added) == sorted(str(folder.resolve() / name) for name in NOTES)
        assert not first.failed
        assert counting.uploads == len(NOTES)
        names = {d.name: d for d in client.documents()}
        assert set(names) == set(first.added)  # each keeps its path as its source
        assert {d.status for d in names.values()} == {"ready"}

        again = sync_once(client, source)
        assert sorted(again.unchanged) == sorted(first.added)
        assert not again.changed
        assert counting.uploads == len(NOTES)  # nothing was sent

        (folder / "ferries.md").write_text(
            "# Ferries\n\nThe ferry to Kellsay now leaves at nine from pier two.\n"
        )
        edited = sync_once(client, source)
        assert edited.updated == [str(folder.resolve() / "ferries.md")]
        assert len(edited.unchanged) == len(NOTES) - 1
        assert counting.uploads == len(NOTES) + 1
        found = best_source(client, "when does the Kellsay ferry leave")
        assert found is not None
        assert "nine from pier two" in found[1]
        texts = [item.text for d in client.documents() for item in client.items(d.id).items]
        assert not any("seven from pier four" in text for text in texts)

        (folder / "orchard" / "pears.txt").unlink()
        removed = sync_once(client, source)
        assert removed.removed == [str(folder.resolve() / "orchard" / "pears.txt")]
        assert len(client.documents()) == len(NOTES) - 1


def test_watch_picks_up_a_new_file(served: tuple[str, CountUploads], tmp_path: Path) -> None:
    url, _ = served
    folder = tmp_path / "watched"
    write_notes(folder)
    command = shutil.which("omnidex") or str(Path(sys.executable).parent / "omnidex")
    log = tmp_path / "sync.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [command, "sync", str(folder), "--watch", "--url", url],
            env={**os.environ, "OMNIDEX_DATA_DIR": str(tmp_path / "data")},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        with Client(url) as client:
            deadline = time.monotonic() + 120
            while len(client.documents(status="ready")) < len(NOTES):
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the first sync did not finish"
                time.sleep(0.2)
            time.sleep(1)  # the watcher is now following the folder
            (folder / "kiln.txt").write_text("The kiln reaches 1280 degrees at its peak.\n")
            written = time.monotonic()
            while not any(d.name.endswith("kiln.txt") for d in client.documents()):
                assert time.monotonic() - written < 5, "the new file was not picked up within 5 s"
                time.sleep(0.1)
            print(f"picked up {time.monotonic() - written:.1f} s after it was written")
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    """moto's S3 server with a bucket "papers"; its URL."""
    boto3 = pytest.importorskip("boto3")
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="papers")
    return s3_endpoint


def test_a_bucket_prefix_syncs_the_same_way(
    served: tuple[str, CountUploads], bucket: str, tmp_path: Path
) -> None:
    import boto3

    url, counting = served
    s3 = boto3.client("s3", endpoint_url=bucket)
    for name, text in NOTES.items():
        s3.put_object(Bucket="papers", Key=f"shared/{name}", Body=text.encode())
    s3.put_object(Bucket="papers", Key="elsewhere/skip.txt", Body=b"Not under the prefix.")
    source = open_source("s3://papers/shared/", bucket, tmp_path / "cache")
    with Client(url) as client:
        first = sync_once(client, source)
        assert sorted(first.added) == sorted(f"s3://papers/shared/{name}" for name in NOTES)
        assert {d.name for d in client.documents()} == set(first.added)

        again = sync_once(client, open_source("s3://papers/shared/", bucket, tmp_path / "cache"))
        assert not again.changed
        assert counting.uploads == len(NOTES)

        s3.put_object(
            Bucket="papers", Key="shared/ferries.md", Body=b"# Ferries\n\nThe ferry now leaves at nine.\n"
        )
        edited = sync_once(client, source)
        assert edited.updated == ["s3://papers/shared/ferries.md"]
        texts = [item.text for d in client.documents() for item in client.items(d.id).items]
        assert not any("seven from pier four" in text for text in texts)
        assert any("leaves at nine" in text for text in texts)

        s3.delete_object(Bucket="papers", Key="shared/library.html")
        removed = sync_once(client, source)
        assert removed.removed == ["s3://papers/shared/library.html"]
        assert counting.uploads == len(NOTES) + 1
