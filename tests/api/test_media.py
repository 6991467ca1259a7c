"""/v1/media: bytes with the right type, Range support, and nothing across tenants."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from omnidex.db import documents
from omnidex.ingest.intake import add_file
from omnidex.ingest.worker import Worker
from omnidex.runtime import Runtime
from tests.conftest import search, upload, wait_until_done
from tests.files import make_picture


def test_original_image_and_thumbnail_with_range(visual_client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "sign.png"
    make_picture("KESTREL", (1200, 600)).save(path)
    [doc] = upload(visual_client, path)
    wait_until_done(visual_client, [doc["id"]])
    [hit] = search(visual_client, "kestrel", top_k=1)
    original = visual_client.get(hit["media_url"])
    assert original.status_code == 200
    assert original.headers["content-type"] == "image/png"
    assert original.content == path.read_bytes()
    ranged = visual_client.get(hit["media_url"], headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == f"bytes 10-19/{path.stat().st_size}"
    assert ranged.content == path.read_bytes()[10:20]
    thumb = visual_client.get(hit["thumbnail_url"])
    assert thumb.headers["content-type"] == "image/jpeg"
    assert len(thumb.content) < len(original.content)


def test_text_chunk_media_is_its_document(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Puffins nest in burrows on cliff tops.")
    [doc] = upload(client, path)
    wait_until_done(client, [doc["id"]])
    [hit] = search(client, "puffins", top_k=1)
    assert client.get(f"/v1/media/{hit['id']}").content == path.read_bytes()
    assert client.get(f"/v1/media/{hit['id']}?clip=1").status_code == 400


def test_unknown_item_is_404(client: TestClient) -> None:
    response = client.get("/v1/media/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_tenants_item_is_404(client: TestClient, runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "secret.png"
    make_picture("CONFIDENTIAL").save(path)
    doc_id = add_file(runtime.db, runtime.blobs, path, "other-team").document.id
    Worker(runtime.db, runtime.pipeline).run_once()
    item_id, _ = _first_item(runtime, "other-team", doc_id)
    assert client.get(f"/v1/media/{item_id}").status_code == 404
    assert client.get(f"/v1/media/{item_id}?thumb=1").status_code == 404
    assert client.get(f"/v1/documents/{doc_id}").status_code == 404
    assert all(hit["doc_id"] != doc_id for hit in search(client, "confidential", top_k=50))


def _first_item(runtime: Runtime, tenant: str, doc_id: str) -> tuple[str, str]:
    from sqlalchemy import select

    from omnidex.db.models import ItemRow

    with runtime.db.session() as session:
        item = session.scalars(select(ItemRow).where(ItemRow.doc_id == doc_id)).one()
    found, _ = documents.get_item(runtime.db, tenant, item.id)
    return found.id, found.kind
