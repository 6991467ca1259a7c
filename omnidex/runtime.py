"""The composition root: builds, from Settings, only what a process's role needs.

- :class:`WorkerRuntime` (``omnidex worker``): the database, blobs, encoders,
  vector store and the ingest pipeline. No generator, retriever or answerer:
  an ingest worker never loads Qwen3-Omni.
- :class:`Runtime` (``omnidex serve``, the CLI in-process): all of that, plus
  the retriever, the generator and the answerer, API keys and metrics.
- :func:`prepared_reindex` (``omnidex reindex``): the same encoders and
  pipeline over the next index version.

The layers below never see Settings. In the embedded shape the data dir is
locked to this process, since Qdrant Edge and the worker threads must live
in one process.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from omnidex.answering.answer import Answerer
from omnidex.answering.media import MediaReader
from omnidex.api.metrics import Metrics
from omnidex.blobs import BlobStore, make_blob_store
from omnidex.config import Settings
from omnidex.datadir import lock_data_dir
from omnidex.db.engine import Database
from omnidex.db.keys import KeyCache
from omnidex.encoders import (
    ClipUnavailable,
    ImageEncoder,
    SparseEncoder,
    TextEncoder,
    Transcriber,
    make_image_encoder,
    make_reranker,
    make_sparse_encoder,
    make_text_encoder,
    make_transcriber,
)
from omnidex.encoders.batching import BatchingTextEncoder
from omnidex.errors import ConfigError
from omnidex.generation import Generator, make_budget, make_captioner, make_generator, make_reasoner
from omnidex.ingest import documents
from omnidex.ingest.bounded import ParseBudget
from omnidex.ingest.pipeline import Pipeline
from omnidex.ingest.reindex import Reindexer
from omnidex.ingest.sweep import Sweeper
from omnidex.ingest.worker import Worker
from omnidex.media.ocr import ocr_status
from omnidex.retrieval import Retriever
from omnidex.retrieval.fusion import Fusion, parse_weights
from omnidex.retrieval.relevance import Relevance
from omnidex.store import Schema, VectorStore, make_store
from omnidex.store.base import DEFAULT_IMAGE_DIM
from omnidex.store.optimizer import BackgroundOptimizer
from omnidex.store.versions import make_versions

log = logging.getLogger(__name__)


QUERY_THREADS = 2
BATCHED_QUERY_THREADS = 8


def torch_threads() -> int:
    """Torch's threads, where an encoder brought torch in (the ONNX text encoder does not)."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else os.cpu_count() or 1


def set_torch_threads(count: int) -> None:
    if (torch := sys.modules.get("torch")) is not None:
        torch.set_num_threads(count)


def open_database(settings: Settings) -> Database:
    db = Database(settings.resolved_database_url)
    try:
        db.migrate(apply=settings.migrate_on_start)
    except BaseException:
        db.close()
        raise
    return db


def query_encoder(settings: Settings, encoder: TextEncoder, threads: int) -> TextEncoder:
    """The text encoder as searches use it: concurrent queries batched (OMNIDEX_QUERY_BATCH_MS)."""
    if settings.query_batch_ms <= 0:
        return encoder
    return BatchingTextEncoder(
        encoder, window_s=settings.query_batch_ms / 1000, initializer=lambda: set_torch_threads(threads)
    )


@dataclass(slots=True)
class Encoders:
    text: TextEncoder
    sparse: SparseEncoder
    image: ImageEncoder | None
    visual_search_off: str | None  # why there is no image encoder
    transcriber: Transcriber | None

    @property
    def schema(self) -> Schema:
        return Schema(text_dim=self.text.dim, image_dim=self.image.dim if self.image else DEFAULT_IMAGE_DIM)


def build_encoders(
    settings: Settings,
    *,
    text: TextEncoder | None = None,
    sparse: SparseEncoder | None = None,
    image: ImageEncoder | ClipUnavailable | None = None,
    transcriber: Transcriber | None = None,
    speech: bool = True,
) -> Encoders:
    """The configured encoders (or the given ones); speech recognition only when ``speech``."""
    clip = image or make_image_encoder(settings)
    off = clip.reason if isinstance(clip, ClipUnavailable) else None
    if off:
        log.warning("visual search is off: %s; pictures are found by their words only (OCR, captions)", off)
    return Encoders(
        text=text or make_text_encoder(settings),
        sparse=sparse or make_sparse_encoder(settings),
        image=None if isinstance(clip, ClipUnavailable) else clip,
        visual_search_off=off,
        transcriber=(transcriber or make_transcriber(settings)) if speech else None,
    )


def ocr_off_reason(settings: Settings) -> str | None:
    """Why OCR does not run, or None when it does."""
    off = "turned off (OMNIDEX_OCR=false)" if not settings.ocr else ocr_status()
    if off:
        log.warning("OCR is off: %s", off)
    return off


def build_pipeline(
    settings: Settings,
    blobs: BlobStore,
    store: VectorStore,
    encoders: Encoders,
    *,
    ocr: bool,
    captions: bool = True,
) -> Pipeline:
    """The ingest pipeline; ``captions``: describe pictures and sounds with the configured captioner."""
    return Pipeline(
        captioner=make_captioner(settings) if captions else None,
        blobs=blobs,
        store=store,
        text_encoder=encoders.text,
        sparse_encoder=encoders.sparse,
        image_encoder=encoders.image,
        transcriber=encoders.transcriber,
        chunk_max_chars=settings.chunk_max_chars,
        chunk_overlap_chars=settings.chunk_overlap_chars,
        batch_size=settings.text_batch_size,
        max_text_file_bytes=settings.max_text_file_bytes,
        max_image_pixels=settings.max_image_pixels,
        ocr=ocr,
        ocr_timeout=settings.ocr_timeout_seconds,
        keyframes_per_minute=settings.keyframes_per_minute,
        max_pictures=settings.max_pictures_per_document,
        readers=ParseBudget(
            timeout_s=settings.parse_timeout_s,
            memory_mb=settings.parse_memory_mb,
            size=max(1, settings.workers),
            warm=documents.warm,
        ),
    )


class WorkerRuntime:
    """What indexing needs: database, blobs, encoders, the vector store, the pipeline, worker threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        text_encoder: TextEncoder | None = None,
        sparse_encoder: SparseEncoder | None = None,
        image_encoder: ImageEncoder | ClipUnavailable | None = None,
        transcriber: Transcriber | None = None,
    ) -> None:
        self.settings = settings
        self._lock = lock_data_dir(settings)
        self._closing: list[Callable[[], None]] = [self._release_lock]
        try:
            self.db = open_database(settings)
            self._closing.append(self.db.close)
            self.blobs = make_blob_store(settings.blob_url, settings.blobs_dir, settings.s3_endpoint_url)
            encoders = build_encoders(
                settings,
                text=text_encoder,
                sparse=sparse_encoder,
                image=image_encoder,
                transcriber=transcriber,
            )
            # An export still running at the end (a first start, stopped at once) is stopped.
            self._closing.append(getattr(encoders.text, "close", lambda: None))
            self._closing.append(getattr(encoders.transcriber, "close", lambda: None))  # a server's client
            self.ocr_off = ocr_off_reason(settings)
            self.store = make_store(settings, encoders.schema)
            self._closing.append(self.store.close)
            self._build(settings, encoders)
        except BaseException:
            self.close()
            raise
        self.text_encoder = encoders.text
        self.sparse_encoder = encoders.sparse
        self.image_encoder = encoders.image
        self.visual_search_off = encoders.visual_search_off
        self.transcriber = encoders.transcriber
        self.pipeline = build_pipeline(settings, self.blobs, self.store, encoders, ocr=self.ocr_off is None)
        if self.pipeline.readers is not None:
            self._closing.append(self.pipeline.readers.close)
        self.optimizer = BackgroundOptimizer(self.store, settings.optimize_after_points)
        self._closing.append(self.optimizer.join)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sweeper: Sweeper | None = None
        self._torch_threads = torch_threads()

    def _build(self, settings: Settings, encoders: Encoders) -> None:
        """Build what a role adds (while the data dir is locked); the worker adds nothing."""

    def start_sweeping(self) -> None:
        """Sweep the blob folder of what no document owns now, then hourly (``ingest/sweep.py``)."""
        self._sweeper = Sweeper(self.db, self.blobs, self._stop)

    def make_worker(self) -> Worker:
        return Worker(
            self.db,
            self.pipeline,
            lease_seconds=self.settings.lease_seconds,
            poll_seconds=self.settings.poll_seconds,
            on_indexed=self.optimizer.add,
        )

    def start_workers(self, count: int) -> None:
        if count and self.pipeline.readers is not None:
            # After the text model's export, if this is a first start: not on top of its memory.
            self.pipeline.readers.prestart(after=self._wait_for_encoder)
        for index in range(count):
            worker = self.make_worker()
            thread = threading.Thread(
                target=self._run_worker, args=(worker,), name=f"worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run_worker(self, worker: Worker) -> None:
        set_torch_threads(self._torch_threads)
        self._wait_for_encoder()
        worker.run(self._stop)

    def _wait_for_encoder(self) -> None:
        """While a first start exports the text model, documents wait in the queue, unparsed."""
        while getattr(self.text_encoder, "warming", False) and not self._stop.wait(0.2):
            pass

    @property
    def worker_count(self) -> int:
        return len(self._threads)

    def stop_workers(self) -> None:
        """Stop the worker threads (and the sweeper), letting each finish what it holds."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        if self._sweeper is not None:
            self._sweeper.join()

    def close(self) -> None:
        if hasattr(self, "_threads"):
            self.stop_workers()
        while self._closing:
            self._closing.pop()()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()


class Runtime(WorkerRuntime):
    """Every component of an API process: indexing, plus search, answers, keys and metrics."""

    def __init__(
        self,
        settings: Settings,
        *,
        text_encoder: TextEncoder | None = None,
        sparse_encoder: SparseEncoder | None = None,
        image_encoder: ImageEncoder | ClipUnavailable | None = None,
        transcriber: Transcriber | None = None,
        generator: Generator | None = None,
        reasoner: Generator | None = None,
    ) -> None:
        self._given_generator = generator
        self._given_reasoner = reasoner
        super().__init__(
            settings,
            text_encoder=text_encoder,
            sparse_encoder=sparse_encoder,
            image_encoder=image_encoder,
            transcriber=transcriber,
        )

    def _build(self, settings: Settings, encoders: Encoders) -> None:
        self.generator = self._given_generator or make_generator(settings)
        self.reasoner = self._given_reasoner or make_reasoner(settings)
        self.retriever = Retriever(
            self.store,
            query_encoder(settings, encoders.text, torch_threads()),
            encoders.sparse,
            encoders.image,
            encoders.transcriber,
            max_image_pixels=settings.max_image_pixels,
            ocr=self.ocr_off is None,
            fusion=Fusion(settings.fusion, settings.rrf_k, parse_weights(settings.fusion_weights)),
            reranker=make_reranker(settings),
            rerank_top_n=settings.reranker_top_n,
            relevance=Relevance(
                settings.relevance_strong,
                settings.relevance_weak,
                settings.relevance_image_strong,
                settings.relevance_image_weak,
            ),
        )
        if self.retriever.reranker is not None:
            self._closing.append(self.retriever.reranker.close)
        # Torch's thread count is per thread. Batches of documents use every
        # core; a query is one short text, where two threads only spin-wait
        # against the web server, so queries run on threads of their own with one.
        self.query_executor = ThreadPoolExecutor(
            # With batching, a query thread mostly waits for its batch: more of them fill batches.
            max_workers=QUERY_THREADS if settings.query_batch_ms <= 0 else BATCHED_QUERY_THREADS,
            thread_name_prefix="query",
            initializer=set_torch_threads,
            initargs=(1,),
        )
        self._closing.append(lambda: self.query_executor.shutdown(wait=True))
        self.metrics = Metrics(self.db)
        self.keys = KeyCache(self.db, settings.key_cache_seconds)
        self.answerer = Answerer(
            self.retriever,
            self.generator,
            lambda tenant: MediaReader(self.db, self.blobs, tenant),
            self.query_executor,
            make_budget(settings),
            max_image_pixels=settings.max_image_pixels,
            max_tokens=settings.generator_max_tokens,
            on_answer=self.metrics.observe_answer,
            reasoner=self.reasoner,
            reasoning_max_tokens=settings.reasoning_max_tokens,
        )


@contextmanager
def prepared_reindex(settings: Settings, *, captions: bool = False) -> Iterator[tuple[Reindexer, str]]:
    """A reindexer over the configured (new) encoders, and the index version it fills."""
    lock = lock_data_dir(settings)
    closing: list[Callable[[], None]] = [lock.release] if lock else []
    try:
        db = open_database(settings)
        closing.append(db.close)
        encoders = build_encoders(settings, speech=False)
        closing.append(getattr(encoders.text, "close", lambda: None))  # an export still running
        versions = make_versions(settings)
        closing.append(versions.close)
        target = versions.next_name()
        try:
            store = versions.open(target, encoders.schema)
        except ConfigError:
            log.info("%s was begun with other vector sizes: starting it again", target)
            versions.drop(target)
            store = versions.open(target, encoders.schema)
        closing.append(store.close)
        blobs = make_blob_store(settings.blob_url, settings.blobs_dir, settings.s3_endpoint_url)
        pipeline = build_pipeline(settings, blobs, store, encoders, ocr=False, captions=captions)
        if captions and pipeline.captioner is None:
            raise ConfigError("--captions needs a captioner: set OMNIDEX_CAPTIONER (and its URL)")
        yield Reindexer(db, pipeline, versions, captions=captions), target
    finally:
        for close in reversed(closing):
            close()
