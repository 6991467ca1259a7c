"""API keys and tenants: no key → 401, roles, and another tenant's ids answer 404, never data."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from omnidex.api.app import create_app
from omnidex.cli import app as cli
from omnidex.config import get_settings
from omnidex.db import keys
from omnidex.runtime import Runtime
from tests.files import make_pdf


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_tenants_are_isolated_and_roles_enforced(runtime: Runtime, tmp_path: Path) -> None:
    _, writer_a = keys.create_key(runtime.db, "alpha", "writer")
    _, reader_a = keys.create_key(runtime.db, "alpha", "reader")
    _, writer_b = keys.create_key(runtime.db, "beta", "writer")
    pdf = make_pdf(tmp_path / "secret.pdf", [["The launch code is written on the lion's sunscreen."]])
    with TestClient(create_app(runtime=runtime, workers=1)) as client:
        assert client.get("/healthz").status_code == 200
        for path in ("/v1/documents", "/v1/info", "/v1/models"):
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert refused.json()["error"]["code"] == "unauthorized"
        assert client.get("/v1/documents", headers=bearer("odx_nope_nope")).status_code == 401

        upload = client.post("/v1/documents", files={"files": ("secret.pdf", pdf.read_bytes())},
                             headers=bearer(writer_a))  # fmt: skip
        assert upload.status_code == 202, upload.text
        doc_id = upload.json()["documents"][0]["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/v1/documents/{doc_id}", headers=bearer(reader_a)).json()["status"] != "ready":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        hits = client.post("/v1/search", json={"query": "launch code"}, headers=bearer(reader_a)).json()[
            "hits"
        ]
        assert hits[0]["doc_id"] == doc_id
        item_id = hits[0]["id"]

        other = bearer(writer_b)
        assert client.get("/v1/documents", headers=other).json()["documents"] == []
        document = f"/v1/documents/{doc_id}"
        reads = [
            document,
            f"{document}/items",
            f"{document}/file",
            f"{document}/events",
            f"/v1/media/{item_id}",
        ]
        for path in reads:
            response = client.get(path, headers=other)
            assert response.status_code == 404, path
            assert "launch" not in response.text
        assert client.delete(f"/v1/documents/{doc_id}", headers=other).status_code == 404
        assert client.post("/v1/search", json={"query": "launch code"}, headers=other).json()["hits"] == []
        by_id = {"query": "launch code", "doc_ids": [doc_id]}
        assert client.post("/v1/search", json=by_id, headers=other).json()["hits"] == []
        assert client.post("/v1/answer", json={"query": "launch code"}, headers=other).json()["hits"] == []

        refused = client.post("/v1/documents", files={"files": ("x.txt", b"words")}, headers=bearer(reader_a))
        assert refused.status_code == 403
        assert "reader" in refused.json()["error"]["message"]
        assert client.delete(f"/v1/documents/{doc_id}", headers=bearer(reader_a)).status_code == 403
        assert client.get(f"/v1/documents/{doc_id}", headers=bearer(reader_a)).status_code == 200

        [revoked] = [row for row in keys.list_keys(runtime.db, "beta")]
        runtime.keys.ttl = 0.5
        keys.revoke_key(runtime.db, revoked.id)
        time.sleep(0.5)  # each process remembers a key check that long
        assert client.get("/v1/documents", headers=other).status_code == 401


def test_keys_from_the_command_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNIDEX_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        created = runner.invoke(
            cli, ["keys", "create", "--tenant", "alpha", "--role", "writer", "--name", "ci"]
        )
        assert created.exit_code == 0, created.output
        secret = created.stdout.strip().splitlines()[-1]
        assert secret.startswith("odx_")
        listed = runner.invoke(cli, ["keys", "list"])
        assert "alpha" in listed.output
        assert secret.split("_", 2)[2] not in listed.output  # never the secret (which may hold "_")
        key_id = secret.split("_")[1]
        assert runner.invoke(cli, ["keys", "revoke", key_id]).exit_code == 0
        assert runner.invoke(cli, ["keys", "revoke", "nope"]).exit_code == 2
        assert runner.invoke(cli, ["keys", "create", "--role", "king"]).exit_code == 2
    finally:
        get_settings.cache_clear()


def test_no_keys_means_localhost_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNIDEX_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        refused = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
        assert refused.exit_code == 2
        assert "without API keys" in refused.output
    finally:
        get_settings.cache_clear()


def test_a_browser_signs_in_with_a_key_kept_in_a_strict_cookie(runtime: Runtime) -> None:
    _, reader = keys.create_key(runtime.db, "alpha", "reader")
    with TestClient(create_app(runtime=runtime, workers=0)) as client:
        assert client.get("/v1/session").status_code == 401
        refused = client.post("/v1/session", json={"api_key": "odx_nope_nope"})
        assert refused.status_code == 401
        assert "omnidex_key" not in refused.headers.get("set-cookie", "")

        signed = client.post("/v1/session", json={"api_key": reader})
        assert signed.status_code == 200
        assert signed.json() == {"tenant": "alpha", "role": "reader", "keys": True}
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert client.get("/v1/session").json()["role"] == "reader"  # the cookie speaks for it now
        assert client.get("/v1/documents").status_code == 200
        upload = client.post("/v1/documents", files={"files": ("a.txt", b"some words")})
        assert upload.status_code == 403  # a reader's key, by cookie too
        crossed = client.post("/v1/search", json={"query": "x"}, headers={"Sec-Fetch-Site": "cross-site"})
        assert crossed.status_code == 403  # a page of another site may not act with the cookie

        assert client.delete("/v1/session").status_code == 204
        assert client.get("/v1/session").status_code == 401


def test_without_keys_the_session_says_so(runtime: Runtime) -> None:
    with TestClient(create_app(runtime=runtime, workers=0)) as client:
        assert client.get("/v1/session").json() == {"tenant": "default", "role": "admin", "keys": False}
        assert client.post("/v1/session", json={"api_key": "anything"}).json()["keys"] is False
