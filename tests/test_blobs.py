"""The blob store streams: memory stays flat however large the upload."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from omnidex.blobs import LocalBlobStore
from omnidex.runtime import Runtime

MIB = 1 << 20


def test_put_file_is_content_addressed(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    source = tmp_path / "a.bin"
    source.write_bytes(b"hello" * 1000)
    first = store.put_file(source)
    second = store.put_file(source)
    assert first == second
    assert store.path(first.sha256).read_bytes() == source.read_bytes()
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []


def _multipart_body(size: int, boundary: str) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    line = b"All work and no play makes a very long text file.\n" * 1024
    sent = 0
    while sent < size:
        piece = line[: size - sent]
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


def test_large_upload_streams_with_bounded_memory(live_server: str, runtime: Runtime) -> None:
    size = 256 * MIB
    boundary = "omnidexboundary"
    tracemalloc.start()
    try:
        response = httpx.post(
            f"{live_server}/v1/documents",
            content=_multipart_body(size, boundary),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout=120,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 202, response.text
    [doc] = response.json()["documents"]
    stored = httpx.get(f"{live_server}/v1/documents/{doc['id']}").json()
    assert stored["size"] == size
    assert runtime.blobs.path(stored["sha256"]).stat().st_size == size
    assert peak < 32 * MIB, f"peak traced memory {peak / MIB:.1f} MiB for a {size // MIB} MiB upload"


def test_oversized_text_file_fails_with_a_reason(client: TestClient, runtime: Runtime) -> None:
    runtime.pipeline.max_text_file_bytes = 1000
    response = client.post("/v1/documents", files=[("files", ("big.txt", b"words and more words\n" * 100))])
    [doc] = response.json()["documents"]
    from tests.conftest import wait_until_done

    done = wait_until_done(client, [doc["id"]])[doc["id"]]
    assert done["status"] == "failed"
    assert "the limit is" in done["error"]["message"]
