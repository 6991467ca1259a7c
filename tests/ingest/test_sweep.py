"""The sweep removes what no document owns — and only that, and only once it is old; after a
deleted video and a cut-off upload, no file of either is left."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi.testclient import TestClient

from omnidex.ingest.intake import add_file, remove_document
from omnidex.ingest.sweep import Swept, sweep
from omnidex.ingest.worker import Worker
from omnidex.runtime import Runtime
from tests.conftest import wait_until_done
from tests.files import make_picture, make_video

TWO_HOURS_AGO = time.time() - 2 * 3600


def _old(path: Path, data: bytes | None = None) -> Path:
    """``path`` (written with ``data``, if given) as if it were two hours old."""
    if data is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    os.utime(path, (TWO_HOURS_AGO, TWO_HOURS_AGO))
    return path


def test_the_sweep_takes_what_no_document_owns(runtime: Runtime, tmp_path: Path) -> None:
    blobs = runtime.blobs
    kept, gone = tmp_path / "kept.png", tmp_path / "gone.png"
    make_picture("KEPT").save(kept)
    make_picture("GONE").save(gone)
    kept_doc = add_file(runtime.db, blobs, kept, "default").document
    gone_doc = add_file(runtime.db, blobs, gone, "default").document
    worker = Worker(runtime.db, runtime.pipeline)
    while worker.run_once():
        pass
    remove_document(runtime.db, runtime.store, blobs, "default", gone_doc.id)
    # What a delete can miss: a worker still writing after it, and uploads of killed requests.
    late = _old(blobs.derived_dir(gone_doc.id) / "keyframe-00000.jpg", b"written after the delete").parent
    _old(late)
    stale_upload = _old(blobs.tmp_dir / "upload-stale", b"a killed request's")
    fresh_upload = blobs.tmp_dir / "upload-fresh"
    fresh_upload.write_bytes(b"still arriving")
    orphan = _old(blobs.local_path("f" * 64), b"bytes whose row is gone")
    _old(blobs.derived_dir(kept_doc.id))
    _old(blobs.local_path(kept_doc.sha256))

    assert sweep(runtime.db, blobs) == Swept(uploads=1, derived=1, blobs=1)
    assert not stale_upload.exists()
    assert not late.exists()
    assert not orphan.exists()
    assert fresh_upload.exists()  # younger than the grace period: an upload under way
    assert any(blobs.derived_dir(kept_doc.id).iterdir())  # a live document keeps everything
    assert blobs.local_path(kept_doc.sha256).exists()
    assert sweep(runtime.db, blobs) == Swept(0, 0, 0)


def test_a_deleted_video_and_a_cut_off_upload_leave_nothing_after_the_sweep(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    blobs = runtime.blobs
    root = Path(runtime.settings.blobs_dir)
    before = {path for path in root.rglob("*") if path.is_file()}
    video = make_video(tmp_path / "harbour.mp4", [("navy", "PIER", 2.0), ("white", "TIDE", 2.0)])
    [doc] = client.post("/v1/documents", files={"files": (video.name, video.read_bytes())}).json()[
        "documents"
    ]
    sha256 = wait_until_done(client, [doc["id"]])[doc["id"]]["sha256"]
    assert any(blobs.derived_dir(doc["id"]).iterdir()), "its keyframes were kept"
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
    boundary = "b0undary"
    cut_off = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="half.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n" + "words " * 10_000
    ).encode()
    response = client.post(
        "/v1/documents",
        content=cut_off,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400
    # Whatever a worker or a killed request might still have left, an hour later:
    for path in root.rglob("*"):
        os.utime(path, (TWO_HOURS_AGO, TWO_HOURS_AGO))
    sweep(runtime.db, blobs)
    left = {path for path in root.rglob("*") if path.is_file()} - before
    assert left == set(), sorted(str(path.relative_to(root)) for path in left)
    assert not blobs.derived_dir(doc["id"]).exists()
    assert not blobs.local_path(sha256).exists()
