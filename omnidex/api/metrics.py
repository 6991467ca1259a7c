"""Prometheus metrics of one process: its requests and answers, and the shared queue's state.

Request and generator figures are this process's own. Queue depth, documents
by status and indexed items by modality are read from the database at
scrape time, so every API replica reports the whole deployment's queue,
whichever worker processes did the work.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from omnidex.db import stats
from omnidex.db.engine import Database
from omnidex.types import DocStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class QueueCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        by_status = stats.documents_by_status(self.db)
        by_modality = stats.items_by_modality(self.db)
        documents = GaugeMetricFamily("omnidex_documents", "Documents by status.", labels=["status"])
        for status in DocStatus:
            documents.add_metric([status.value], by_status.get(status.value, 0))
        yield documents
        yield GaugeMetricFamily(
            "omnidex_queue_depth",
            "Documents waiting for a worker or being indexed.",
            value=by_status.get(DocStatus.QUEUED.value, 0) + by_status.get(DocStatus.PROCESSING.value, 0),
        )
        items = CounterMetricFamily(
            "omnidex_indexed_items",
            "Items indexed, by modality (rate() gives items/s; deletes show as resets).",
            labels=["modality"],
        )
        for modality, count in sorted(by_modality.items()):
            items.add_metric([modality], count)
        yield items


class Metrics:
    """The registry of one process and the instruments the API and the answerer feed."""

    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "omnidex_request_seconds",
            "HTTP request latency, to the last byte, by route.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.first_token = Histogram(
            "omnidex_generator_first_token_seconds",
            "From the question to the generator's first text token.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answer = Histogram(
            "omnidex_generator_answer_seconds",
            "From the question to the generator's last byte.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.generator_failures = Counter(
            "omnidex_generator_failures", "Answers the generator failed to write.", registry=self.registry
        )
        self.registry.register(QueueCollector(db))

    def observe_answer(self, timings_ms: dict[str, float] | None) -> None:
        """One answer's timings, or None when the generator failed."""
        if timings_ms is None:
            self.generator_failures.inc()
            return
        if "first_token_ms" in timings_ms:
            self.first_token.observe(timings_ms["first_token_ms"] / 1000)
        self.answer.observe(timings_ms["total_ms"] / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
