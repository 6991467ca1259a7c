"""Operations: Prometheus metrics, request ids in JSON logs, readiness of the generator."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from omnidex.api.app import create_app
from omnidex.db import keys
from omnidex.logs import JsonFormatter, RequestIdFilter
from omnidex.runtime import Runtime
from tests.api.test_answer import QUESTION, ready_client
from tests.files import make_pdf
from tests.omni_fakes import FakeOmni

Start = Callable[[str], FakeOmni]


def scrape(client: TestClient, **headers: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """/metrics parsed: sample name → labels → value."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_metrics_are_scraped(omni: Start, make_runtime: Callable[..., Runtime], tmp_path: Path) -> None:
    fake = omni("vllm-omni")
    pdf = make_pdf(tmp_path / "zoo.pdf", [["The lion puts on sunscreen every morning."], ["Penguins swim."]])
    with ready_client(make_runtime(generator="vllm-omni", generator_url=fake.url), pdf) as client:
        assert client.post("/v1/search", json={"query": "lion"}).status_code == 200
        assert client.post("/v1/answer", json={"query": QUESTION}).status_code == 200
        metrics = scrape(client)
    assert metrics["omnidex_documents"][(("status", "ready"),)] == 1
    assert metrics["omnidex_documents"][(("status", "failed"),)] == 0
    assert metrics["omnidex_queue_depth"][()] == 0
    assert metrics["omnidex_indexed_items_total"][(("modality", "text"),)] == 2
    searched = (("method", "POST"), ("route", "/v1/search"), ("status", "200"))
    assert metrics["omnidex_request_seconds_count"][searched] == 1
    # Routes are labelled by template, not by path: ids do not blow up the label set.
    routes = {dict(labels)["route"] for labels in metrics["omnidex_request_seconds_count"]}
    assert "/v1/documents/{doc_id}" in routes
    assert not any(len(route) > 40 and "{" not in route for route in routes)
    assert metrics["omnidex_generator_first_token_seconds_count"][()] == 1
    assert metrics["omnidex_generator_answer_seconds_count"][()] == 1
    assert metrics["omnidex_generator_failures_total"][()] == 0


def test_metrics_need_an_admin_key_once_keys_exist(runtime: Runtime) -> None:
    _, reader = keys.create_key(runtime.db, "alpha", "reader")
    _, admin = keys.create_key(runtime.db, "alpha", "admin")
    with TestClient(create_app(runtime=runtime, workers=0)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {reader}"}).status_code == 403
        assert "omnidex_queue_depth" in scrape(client, Authorization=f"Bearer {admin}")


def test_request_ids_reach_the_response_and_the_json_logs(runtime: Runtime) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    access = logging.getLogger("omnidex.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        with TestClient(create_app(runtime=runtime, workers=0)) as client:
            given = client.get("/v1/documents", headers={"X-Request-ID": "trace-42"})
            made = client.get("/v1/documents/nope")
            hostile = client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 500})
    finally:
        access.removeHandler(handler)
    assert given.headers["x-request-id"] == "trace-42"
    assert len(made.headers["x-request-id"]) == 32
    assert made.json()["error"]["code"] == "not_found"
    assert len(hostile.headers["x-request-id"]) == 32  # not echoed: replaced
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    by_id = {line["request_id"]: line for line in lines}
    assert by_id["trace-42"]["route"] == "/v1/documents"
    assert by_id["trace-42"]["status"] == 200
    assert by_id[made.headers["x-request-id"]]["status"] == 404
    assert all({"ts", "level", "logger", "message", "ms"} <= set(line) for line in lines)


def test_readiness_checks_the_generator(omni: Start, make_runtime: Callable[..., Runtime]) -> None:
    fake = omni("vllm-omni")
    with TestClient(
        create_app(runtime=make_runtime(generator="vllm-omni", generator_url=fake.url))
    ) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["generator"] == f"ok: Qwen/Qwen3-Omni-30B-A3B-Instruct at {fake.url}"


def test_an_unreachable_generator_is_not_ready(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime(generator="dashscope", generator_url="http://127.0.0.1:9/v1")
    with TestClient(create_app(runtime=rt)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["generator"].startswith("error: cannot reach the generator")
