"""Concurrent queries share encoder batches, and each gets its own vector."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from omnidex.encoders.batching import BatchingTextEncoder
from omnidex.encoders.text import SentenceTransformerEncoder

QUERIES = [f"where did the ferry {n} dock after storm {n}?" for n in range(24)]


def test_concurrent_queries_are_encoded_in_shared_batches(text_encoder: SentenceTransformerEncoder) -> None:
    batching = BatchingTextEncoder(text_encoder, window_s=0.02)
    start = threading.Barrier(len(QUERIES))

    def ask(query: str) -> list[float]:
        start.wait()
        return batching.encode([query])[0]

    with ThreadPoolExecutor(len(QUERIES)) as pool:
        vectors = list(pool.map(ask, QUERIES))
    alone = text_encoder.encode(QUERIES)
    for got, expected in zip(vectors, alone, strict=True):
        assert np.allclose(got, expected, atol=1e-5)
    print(f"{len(QUERIES)} concurrent queries in {batching.batches} batches")
    assert batching.batches <= len(QUERIES) // 4
    # Lists (documents being indexed) are encoded directly, in one call.
    assert len(batching.encode(QUERIES[:3])) == 3


class Broken:
    name, version, dim = "broken", "1", 3

    def encode(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the model is gone")


def test_an_encoder_error_reaches_every_waiting_query() -> None:
    batching = BatchingTextEncoder(Broken(), window_s=0.01)
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(batching.encode, [f"q{n}"]) for n in range(4)]
        for future in futures:
            with pytest.raises(RuntimeError, match="the model is gone"):
                future.result()
