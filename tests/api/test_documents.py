"""Upload → index → search → delete through the REST API, with real components."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi.testclient import TestClient

from omnidex.runtime import Runtime
from tests.conftest import search, upload, wait_until_done
from tests.files import make_binary, make_corrupt_pdf, make_docx, make_pdf, truncate

ZEBRA = "The zebra named Quillon repaints the lighthouse every leap year in ultramarine."


def test_mixed_upload_fails_only_the_bad_files(client: TestClient, tmp_path: Path) -> None:
    good_pdf = make_pdf(tmp_path / "good.pdf", [["Nothing here."], [ZEBRA]])
    good_docx = make_docx(tmp_path / "good.docx", "Minutes", ["The budget for lanterns was approved."])
    corrupt = make_corrupt_pdf(tmp_path / "corrupt.pdf")
    truncated = truncate(make_docx(tmp_path / "whole.docx", "T", ["x" * 4000]), tmp_path / "truncated.docx")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = make_binary(tmp_path / "blob.bin")

    docs = upload(client, good_pdf, good_docx, corrupt, truncated, empty, binary)
    assert [d["status"] for d in docs] == ["queued"] * 6
    done = wait_until_done(client, [d["id"] for d in docs])
    by_name = {doc["name"]: doc for doc in done.values()}

    assert by_name["good.pdf"]["status"] == "ready"
    assert by_name["good.pdf"]["items_by_modality"] == {"text": by_name["good.pdf"]["item_count"]}
    assert by_name["good.docx"]["status"] == "ready"
    reasons = {
        name: by_name[name]["error"] for name in ("corrupt.pdf", "truncated.docx", "empty.txt", "blob.bin")
    }
    assert all(by_name[name]["status"] == "failed" for name in reasons)
    assert reasons["corrupt.pdf"]["code"] == "corrupt_file"
    assert "could not read this PDF" in reasons["corrupt.pdf"]["message"]
    assert reasons["truncated.docx"]["code"] == "corrupt_file"
    assert "Word document" in reasons["truncated.docx"]["message"]
    assert reasons["empty.txt"] == {"code": "empty_file", "message": "the file is empty (0 bytes)"}
    assert reasons["blob.bin"]["code"] == "unsupported_type"
    assert "unrecognised binary data" in reasons["blob.bin"]["message"]

    hits = search(client, "Which animal repaints the lighthouse?", top_k=3)
    assert hits[0]["source"] == "good.pdf"
    assert hits[0]["page"] == 2
    assert "Quillon" in hits[0]["text"]
    assert hits[0]["media_url"] == f"/v1/documents/{hits[0]['doc_id']}/file#page=2"


def test_pdf_named_jpg_is_indexed_as_pdf(client: TestClient, tmp_path: Path) -> None:
    disguised = make_pdf(tmp_path / "holiday.jpg", [[ZEBRA]])
    [doc] = upload(client, disguised)
    done = wait_until_done(client, [doc["id"]])[doc["id"]]
    assert done["status"] == "ready"
    assert done["mime"] == "application/pdf"
    assert search(client, "zebra lighthouse ultramarine")[0]["source"] == "holiday.jpg"


def test_identical_bytes_return_the_existing_document(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    original = make_pdf(tmp_path / "a.pdf", [[ZEBRA]])
    copy = tmp_path / "copy-of-a.pdf"
    copy.write_bytes(original.read_bytes())
    [first] = upload(client, original)
    wait_until_done(client, [first["id"]])
    [second] = upload(client, copy)
    assert second["id"] == first["id"]
    assert second["duplicate"] is True
    assert len(client.get("/v1/documents").json()["documents"]) == 1
    assert runtime.store.count() == 1


def test_delete_removes_points_rows_and_blob(client: TestClient, runtime: Runtime, tmp_path: Path) -> None:
    keep = make_pdf(tmp_path / "keep.pdf", [["Lanterns are lit at dusk by the harbour keeper."]])
    drop = make_pdf(tmp_path / "drop.pdf", [[ZEBRA]])
    docs = upload(client, keep, drop)
    wait_until_done(client, [d["id"] for d in docs])
    drop_id = next(d["id"] for d in docs if d["name"] == "drop.pdf")
    sha = client.get(f"/v1/documents/{drop_id}").json()["sha256"]
    assert runtime.blobs.exists(sha)

    assert client.delete(f"/v1/documents/{drop_id}").status_code == 204

    assert client.get(f"/v1/documents/{drop_id}").status_code == 404
    assert client.delete(f"/v1/documents/{drop_id}").status_code == 404
    assert not runtime.blobs.exists(sha)
    for query in ("zebra Quillon lighthouse", ZEBRA, "ultramarine"):
        assert all(hit["doc_id"] != drop_id for hit in search(client, query, top_k=100))
    assert search(client, "harbour keeper lanterns")[0]["source"] == "keep.pdf"


def test_upload_over_the_limit_is_413_and_stores_nothing(client: TestClient, runtime: Runtime) -> None:
    runtime.settings.max_upload_bytes = 1000
    response = client.post("/v1/documents", files=[("files", ("big.txt", b"a" * 5000))])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert client.get("/v1/documents").json()["documents"] == []
    leftovers = [p for p in runtime.blobs.root.rglob("*") if p.is_file()]
    assert leftovers == []


def test_requests_without_files_are_refused(client: TestClient) -> None:
    not_multipart = client.post("/v1/documents", json={"files": []})
    assert not_multipart.status_code == 415
    assert not_multipart.json()["error"]["code"] == "unsupported_media_type"
    no_files = client.post("/v1/documents", data={"note": "hello"}, files=[("x", ("", b""))])
    assert no_files.status_code in (400, 415)
    assert "error" in no_files.json()


def test_unknown_document_is_404(client: TestClient) -> None:
    for method, url in (
        ("GET", "/v1/documents/nope"),
        ("DELETE", "/v1/documents/nope"),
        ("GET", "/v1/documents/nope/file"),
    ):
        response = client.request(method, url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_original_file_is_served_with_range(client: TestClient, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "r.pdf", [[ZEBRA]])
    [doc] = upload(client, pdf)
    whole = client.get(f"/v1/documents/{doc['id']}/file")
    assert whole.status_code == 200
    assert whole.content == pdf.read_bytes()
    assert whole.headers["content-type"] == "application/pdf"
    part = client.get(f"/v1/documents/{doc['id']}/file", headers={"Range": "bytes=0-7"})
    assert part.status_code == 206
    assert part.content == pdf.read_bytes()[:8]


def test_events_stream_progress_until_ready(client: TestClient, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "e.pdf", [[ZEBRA], ["Second page."]])
    [doc] = upload(client, pdf)
    events = []
    with client.stream("GET", f"/v1/documents/{doc['id']}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    assert events[-1][0] == "ready"
    assert events[-1][1]["progress"] == 1.0
    progress = [data["progress"] for _, data in events]
    assert progress == sorted(progress)


def test_search_validates_its_input(client: TestClient) -> None:
    blank = client.post("/v1/search", json={"query": "   "})
    assert blank.status_code == 422
    assert blank.json()["error"]["code"] == "invalid_request"
    too_many = client.post("/v1/search", json={"query": "x", "top_k": 1000})
    assert too_many.status_code == 422


def test_search_filters_by_document(client: TestClient, tmp_path: Path) -> None:
    a = make_pdf(tmp_path / "a.pdf", [["Owls hunt voles in the meadow at night."]])
    b = make_pdf(tmp_path / "b.pdf", [["Owls nest in hollow oak trees."]])
    docs = upload(client, a, b)
    wait_until_done(client, [d["id"] for d in docs])
    only_b = next(d["id"] for d in docs if d["name"] == "b.pdf")
    hits = search(client, "owls", doc_ids=[only_b])
    assert {hit["doc_id"] for hit in hits} == {only_b}
    assert search(client, "owls", modalities=["audio"]) == []


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] in ("ok: sqlite", "ok: postgresql")
    assert ready.json()["checks"]["vector_store"] == "ok"
    assert ready.json()["checks"]["generator"].startswith("off: no generator configured")
    # The document readers load the parser in the background, and say so until they have.
    deadline = time.monotonic() + 60
    while (readers := client.get("/readyz").json()["checks"]["document_readers"]).startswith("warming"):
        assert readers.startswith("warming: loading the document parser")
        assert time.monotonic() < deadline, "the readers never finished warming up"
        time.sleep(0.1)
    assert readers == "ok: up to 1 reader process"


def test_an_upload_may_name_its_source(client: TestClient, tmp_path: Path) -> None:
    """`?source=` keeps a path (a synced file's, say) as the document's name and its hits' source."""
    path = make_pdf(tmp_path / "minutes.pdf", [["The harbour board met on Tuesday about the new pier."]])
    with path.open("rb") as handle:
        response = client.post(
            "/v1/documents",
            params={"source": "s3://records/2024/minutes.pdf\x07"},
            files={"files": ("minutes.pdf", handle, "application/pdf")},
        )
    assert response.status_code == 202
    [document] = response.json()["documents"]
    assert document["name"] == "s3://records/2024/minutes.pdf"  # control characters dropped
    wait_until_done(client, [document["id"]])
    assert search(client, "harbour board pier")[0]["source"] == "s3://records/2024/minutes.pdf"
    two = client.post(
        "/v1/documents",
        params={"source": "notes/a.txt"},
        files=[
            ("files", ("a.txt", b"alpha notes", "text/plain")),
            ("files", ("b.txt", b"beta", "text/plain")),
        ],
    )
    assert two.status_code == 400
    assert two.json()["error"]["message"] == "`source` names one file: upload that file alone"
    assert [d["name"] for d in client.get("/v1/documents").json()["documents"]] == [document["name"]]


def test_a_failed_document_is_tried_again_once_its_cause_is_fixed(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("The harbour master keeps the tide tables in the blue cabinet.\n" * 400)
    runtime.pipeline.max_text_file_bytes = 1000  # the limit it breaks
    [doc] = upload(client, notes)
    failed = wait_until_done(client, [doc["id"]])[doc["id"]]
    assert failed["status"] == "failed"
    assert "OMNIDEX_MAX_TEXT_FILE_BYTES" in failed["error"]["message"]

    runtime.pipeline.max_text_file_bytes = 64 * 1024**2  # the limit raised
    response = client.post(f"/v1/documents/{doc['id']}/retry")
    assert response.status_code == 202, response.text
    queued = response.json()
    assert (queued["status"], queued["progress"], queued["error"]) == ("queued", 0.0, None)
    assert wait_until_done(client, [doc["id"]])[doc["id"]]["status"] == "ready"
    assert search(client, "where are the tide tables kept")[0]["doc_id"] == doc["id"]

    again = client.post(f"/v1/documents/{doc['id']}/retry")
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "conflict",
        "message": "only a failed document can be tried again; this one is ready",
    }
    assert client.post("/v1/documents/nope/retry").status_code == 404
