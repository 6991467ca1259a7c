"""Rerankers: a model that reads the question and a candidate's text together and scores them.

- :class:`CrossEncoderReranker` runs a sentence-transformers ``CrossEncoder`` here (by name or
  path: ``cross-encoder/ms-marco-MiniLM-L-6-v2``, ``BAAI/bge-reranker-v2-m3``…).
- :class:`HttpReranker` calls the rerank API that vLLM (Qwen3-Reranker and other scoring
  models), Infinity and Text Embeddings Inference serve. The request carries the candidates as
  both ``documents`` (vLLM, Infinity, Cohere, Jina) and ``texts`` (TEI); the answer is
  ``{"results": [{"index", "relevance_score"}]}`` or TEI's ``[{"index", "score"}]``.
  ``tests/transcripts/vllm-rerank.json`` has the exchange.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from omnidex.errors import ConfigError, MissingExtra, RerankerError


class Reranker(Protocol):
    name: str

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text, higher is better; raises RerankerError."""
        ...

    def close(self) -> None: ...


class CrossEncoderReranker:
    def __init__(self, model: str, *, device: str = "cpu", allow_downloads: bool = False) -> None:
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:
            raise MissingExtra("sentence-transformers", "server") from exc
        try:
            self._model = CrossEncoder(model, device=device, local_files_only=not allow_downloads)
        except Exception as exc:  # huggingface_hub and transformers raise several kinds
            raise ConfigError(f"cannot load reranker {model!r}: {exc}") from exc
        self.name = model

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        try:
            scores = self._model.predict([(query, text) for text in texts], show_progress_bar=False)
        except Exception as exc:
            raise RerankerError(f"the reranker failed: {exc}") from exc
        return [float(value) for value in scores]

    def close(self) -> None:
        """Nothing to let go of: the model goes with the process."""


class HttpReranker:
    def __init__(self, url: str, model: str, *, api_key: str | None = None, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, timeout=timeout)
        self.url = url
        self.name = model

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        candidates = list(texts)
        body: dict[str, Any] = {
            "model": self.name,
            "query": query,
            "documents": candidates,  # vLLM, Infinity, Cohere, Jina
            "texts": candidates,  # TEI
            "top_n": len(candidates),
        }
        try:
            response = self._http.post(self.url, json=body)
            response.raise_for_status()
            return _scores(response.json(), len(texts))
        except httpx.HTTPStatusError as exc:
            raise RerankerError(
                f"the reranker at {self.url} answered HTTP {exc.response.status_code}"
            ) from exc
        except httpx.TimeoutException as exc:
            raise RerankerError(f"the reranker at {self.url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise RerankerError(f"the reranker at {self.url} cannot be reached: {exc}") from exc

    def close(self) -> None:
        self._http.close()


def _scores(answer: Any, count: int) -> list[float]:
    """Scores in the candidates' order from either answer shape; raises RerankerError."""
    results = answer.get("results") if isinstance(answer, dict) else answer
    scores: list[float | None] = [None] * count
    try:
        for result in results or ():
            value = result["relevance_score"] if "relevance_score" in result else result["score"]
            scores[int(result["index"])] = float(value)
    except (TypeError, KeyError, IndexError, ValueError) as exc:
        raise RerankerError("the reranker's answer is not a list of scored indexes") from exc
    if any(score is None for score in scores):
        raise RerankerError("the reranker scored only some of the candidates")
    return [float(score) for score in scores if score is not None]
