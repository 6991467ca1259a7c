"""Blobs in an S3 bucket, shared by processes that do not share a disk (moto's S3 server stands in).

Two stores with caches of their own play two machines: what one writes, the
other reads; a worker's derived files reach the API once it publishes them.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient

from omnidex.api.app import create_app
from omnidex.blobs import make_blob_store
from omnidex.config import Settings
from omnidex.errors import ConfigError
from omnidex.runtime import Runtime
from tests.conftest import upload
from tests.files import make_picture
from tests.qdrant_fake import FakeQdrant

BUCKET_URL = "s3://omnidex-test/tenant-blobs"


@pytest.fixture
def s3(s3_endpoint: str) -> str:
    """An S3 endpoint on localhost with the bucket made; its URL."""
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="omnidex-test")
    return s3_endpoint


def test_what_one_machine_writes_another_reads(s3: str, tmp_path: Path) -> None:
    here = make_blob_store(BUCKET_URL, tmp_path / "here", s3)
    there = make_blob_store(BUCKET_URL, tmp_path / "there", s3)
    source = tmp_path / "report.bin"
    source.write_bytes(b"lighthouse log " * 10_000)
    blob = here.put_file(source)

    objects = boto3.client("s3", endpoint_url=s3).list_objects_v2(Bucket="omnidex-test")["Contents"]
    assert [o["Key"] for o in objects] == [f"tenant-blobs/{blob.sha256}"]
    assert there.exists(blob.sha256)
    assert not there.local_path(blob.sha256).exists()
    assert there.path(blob.sha256).read_bytes() == source.read_bytes()  # fetched once, then cached

    made = here.derived_dir("doc1")
    made.mkdir(parents=True)
    (made / "keyframe-00000.jpg").write_bytes(b"jpeg")
    assert list(there.derived_dir("doc1").glob("*")) == []  # unpublished: nothing, not half
    here.publish_derived("doc1")
    fetched = there.derived_dir("doc1")
    assert (fetched / "keyframe-00000.jpg").read_bytes() == b"jpeg"

    here.delete(blob.sha256)
    here.delete_derived("doc1")
    assert not there.exists(blob.sha256)
    assert "Contents" not in boto3.client("s3", endpoint_url=s3).list_objects_v2(Bucket="omnidex-test")


def test_a_blob_url_must_name_a_bucket(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="s3://bucket"):
        make_blob_store("https://example.com/x", tmp_path)


def test_api_and_worker_on_two_machines(
    s3: str, tmp_path: Path, qdrant_server: FakeQdrant, runtime: Runtime
) -> None:
    shared = {
        "blob_url": BUCKET_URL,
        "s3_endpoint_url": s3,
        "database_url": f"sqlite:///{tmp_path / 'shared.db'}",
        "qdrant_url": qdrant_server.url,
        "workers": 0,
        "visual_search": False,
    }
    encoders = {
        "text_encoder": runtime.text_encoder,
        "sparse_encoder": runtime.sparse_encoder,
        "transcriber": runtime.transcriber,
    }
    api = Runtime(Settings(data_dir=tmp_path / "api-machine", **shared), **encoders)  # type: ignore[arg-type]
    worker_machine = Runtime(Settings(data_dir=tmp_path / "worker-machine", **shared), **encoders)  # type: ignore[arg-type]
    try:
        picture = tmp_path / "harbour.png"
        make_picture("HARBOUR").save(picture)
        with TestClient(create_app(runtime=api, workers=0)) as client:
            doc_id = upload(client, picture)[0]["id"]
            assert worker_machine.make_worker().run_once() == doc_id
            assert client.get(f"/v1/documents/{doc_id}").json()["status"] == "ready"
            item = client.get(f"/v1/documents/{doc_id}/items").json()["items"][0]
            thumb = client.get(f"/v1/media/{item['id']}?thumb=1")
            assert thumb.status_code == 200
            assert thumb.content[:3] == b"\xff\xd8\xff"  # made on the worker machine, served by the API
            assert client.get(f"/v1/media/{item['id']}").content == picture.read_bytes()
    finally:
        worker_machine.close()
        api.close()
