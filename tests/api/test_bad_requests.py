"""Bad requests get a 4xx with the error shape, never a 500; a deleted document leaves no files."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from omnidex.runtime import Runtime
from tests.conftest import upload, wait_until_done
from tests.files import make_picture


def _png() -> bytes:
    buffer = io.BytesIO()
    make_picture("NOT SOUND").save(buffer, format="PNG")
    return buffer.getvalue()


def _error(response: object, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    error: dict[str, str] = response.json()["error"]  # type: ignore[attr-defined]
    assert set(error) == {"code", "message"}
    return error


def test_an_offset_past_any_integer_is_refused(client: TestClient) -> None:
    _error(client.get("/v1/documents", params={"offset": "9223372036854775808"}), 422)
    _error(client.get("/v1/documents", params={"limit": "0"}), 422)


@pytest.mark.parametrize("endpoint", ["/v1/search", "/v1/answer"])
def test_a_picture_sent_as_a_recording_is_unsupported_media(client: TestClient, endpoint: str) -> None:
    as_file = client.post(endpoint, files={"audio": ("q.png", _png(), "image/png")})
    assert "no audio stream" in _error(as_file, 415)["message"]
    as_json = client.post(endpoint, json={"audio": base64.b64encode(_png()).decode()})
    assert "no audio stream" in _error(as_json, 415)["message"]


@pytest.mark.parametrize("endpoint", ["/v1/search", "/v1/answer"])
def test_json_nested_a_thousand_deep_is_a_bad_request(client: TestClient, endpoint: str) -> None:
    body = '{"query": "lions", "doc_ids": ' + "[" * 1000 + "]" * 1000 + "}"
    response = client.post(endpoint, content=body, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    _error(response, response.status_code)
    deeper = '{"query": ' * 5000 + '"x"' + "}" * 5000
    response = client.post(endpoint, content=deeper, headers={"content-type": "application/json"})
    assert "nested too deeply" in _error(response, 400)["message"]


@pytest.mark.parametrize("top_k", ["5", True, 5.5])
def test_top_k_must_be_a_whole_number(client: TestClient, top_k: object) -> None:
    _error(client.post("/v1/search", content=json.dumps({"query": "lions", "top_k": top_k}),
                       headers={"content-type": "application/json"}), 422)  # fmt: skip


def test_a_forms_top_k_is_read_as_a_number(client: TestClient) -> None:
    form = [("query", (None, "lions")), ("top_k", (None, "3"))]  # multipart, as the web UI sends it
    response = client.post("/v1/search", files=form)
    assert response.status_code == 200, response.text


def test_deleting_a_document_deletes_its_derived_files(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    picture = tmp_path / "lion.png"
    make_picture("LION").save(picture)
    [doc] = upload(client, picture)
    assert wait_until_done(client, [doc["id"]])[doc["id"]]["status"] == "ready"
    derived = runtime.blobs.derived_dir(doc["id"])
    assert any(derived.iterdir())  # its thumbnail
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
    assert not derived.exists()
