"""Bad requests get a 4xx with the error shape, never a 500; a deleted document leaves no files."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from omnidex.errors import reason
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


def test_a_huge_json_body_is_refused_without_being_read(client: TestClient, live_server: str) -> None:
    headers = {"content-type": "application/json", "content-length": str(300 * 2**20)}
    declared = client.post("/v1/search", content=b"{}", headers=headers)
    assert "OMNIDEX_MAX_JSON_BYTES" in _error(declared, 413)["message"]

    def body() -> Iterator[bytes]:  # 300 MB in 1 MB chunks, with no Content-Length
        yield b'{"query": "'
        yield from (b"a" * 2**20 for _ in range(300))
        yield b'"}'

    Path("/proc/self/clear_refs").write_text("5")  # peak memory counts from here
    before = _memory_kib("VmRSS:")
    with httpx.Client(base_url=live_server, timeout=60) as real:
        try:
            streamed = real.post("/v1/search", content=body(), headers={"content-type": "application/json"})
        except httpx.TransportError:
            pass  # the server answered 413 and closed while the rest was still being sent
        else:
            _error(streamed, 413)
    assert _memory_kib("VmHWM:") - before < 100 * 1024  # the server (this process) never held the body


def _memory_kib(field: str) -> int:
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1])


def test_too_many_files_in_one_upload_are_refused(client: TestClient, runtime: Runtime) -> None:
    runtime.settings.max_files_per_upload = 2
    files = [("files", (f"note-{n}.txt", f"note {n}".encode())) for n in range(3)]
    response = client.post("/v1/documents", files=files)
    assert "OMNIDEX_MAX_FILES_PER_UPLOAD" in _error(response, 413)["message"]
    assert client.get("/v1/documents").json()["documents"] == []


def test_a_utf8_file_name_sent_as_filename_star_is_kept(client: TestClient) -> None:
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="files"; filename="_ rates.md"; '
        "filename*=UTF-8''%E2%82%AC%20rates%20f%C3%BCr%202025.md\r\n"
        "Content-Type: text/markdown\r\n\r\n# Rates\n\nThe euro rate is fixed.\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    response = client.post(
        "/v1/documents", content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 202, response.text
    assert response.json()["documents"][0]["name"] == "€ rates für 2025.md"


def test_405_names_the_allowed_methods(client: TestClient) -> None:
    response = client.put("/v1/search", json={"query": "x"})
    _error(response, 405)
    assert "POST" in response.headers["allow"]


def test_keyless_mode_refuses_foreign_hosts_and_cross_site_writes(client: TestClient) -> None:
    rebinding = client.get("/v1/documents", headers={"host": "attacker.example"})
    assert "OMNIDEX_ALLOWED_HOSTS" in _error(rebinding, 400)["message"]
    assert client.get("/v1/documents", headers={"host": "localhost:8000"}).status_code == 200
    assert client.get("/v1/documents", headers={"host": "[::1]:8000"}).status_code == 200

    files = {"files": ("evil.txt", b"planted", "text/plain")}
    cross = client.post("/v1/documents", files=files, headers={"origin": "http://evil.example"})
    _error(cross, 403)
    fetched = client.post("/v1/search", json={"query": "x"}, headers={"sec-fetch-site": "cross-site"})
    _error(fetched, 403)
    as_text = client.post("/v1/search", content=b'{"query": "x"}', headers={"content-type": "text/plain"})
    _error(as_text, 415)
    assert client.get("/v1/documents").json()["documents"] == []

    same = client.post(
        "/v1/search",
        json={"query": "x"},
        headers={"origin": "http://testserver", "sec-fetch-site": "same-origin"},
    )
    assert same.status_code == 200, same.text
    assert client.post("/v1/search", json={"query": "x"}).status_code == 200  # curl, scripts: no Origin


def test_a_cut_off_upload_leaves_no_temporary_file(client: TestClient, runtime: Runtime) -> None:
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="half.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n" + "words " * 10_000
    ).encode()  # no closing boundary
    response = client.post(
        "/v1/documents", content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert "cut off" in _error(response, 400)["message"]
    tmp = Path(runtime.settings.blobs_dir) / "tmp"
    assert list(tmp.iterdir()) == []


def test_the_openapi_schema_is_complete(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    models = schema["components"]["schemas"]
    assert {"SearchRequest", "AnswerRequest"} <= set(models)
    referenced = set(re.findall(r"#/components/schemas/([\w.-]+)", json.dumps(schema)))
    assert referenced <= set(models)  # no reference to a model that is not there
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    upload = schema["paths"]["/v1/documents"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    for status in ("401", "403", "413", "415"):
        assert status in upload["responses"]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_a_failed_documents_reason_names_no_server_path(client: TestClient, tmp_path: Path) -> None:
    broken = tmp_path / "minutes.docx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 200)  # a ZIP header and nothing of a document
    [doc] = upload(client, broken)
    done = wait_until_done(client, [doc["id"]])[doc["id"]]
    assert done["status"] == "failed"
    message = done["error"]["message"]
    assert not re.search(r"(?<![\w.:/])/\w+/", message), message


def test_reason_says_the_file_instead_of_a_path() -> None:
    failure = Exception("Package not found at '/srv/omnidex-data/blobs/e6/12/e612ab'\nmore detail")
    assert reason(failure) == "Package not found at 'the file'"
    assert (
        reason(Exception("see https://example.com/a/b; ratio 3/4"))
        == "see https://example.com/a/b; ratio 3/4"
    )
