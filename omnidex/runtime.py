"""The composition root: builds every component from Settings, once per process.

The API and the CLI both stand on a :class:`Runtime`; the layers below never
see Settings. In the embedded shape the data dir is locked to this process,
since Qdrant Edge and the worker threads must live in one process.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

from omnidex.blobs import make_blob_store
from omnidex.config import Settings
from omnidex.db.engine import Database
from omnidex.db.keys import KeyCache
from omnidex.encoders import (
    ClipUnavailable,
    ImageEncoder,
    SparseEncoder,
    TextEncoder,
    make_image_encoder,
    make_sparse_encoder,
    make_text_encoder,
    make_transcriber,
)
from omnidex.encoders.asr import WhisperTranscriber
from omnidex.errors import DataDirLocked
from omnidex.generation import Generator, make_budget, make_generator
from omnidex.generation.answer import Answerer
from omnidex.generation.media import MediaReader
from omnidex.ingest.ocr import ocr_status
from omnidex.ingest.pipeline import Pipeline
from omnidex.ingest.worker import Worker
from omnidex.metrics import Metrics
from omnidex.retrieval import Retriever
from omnidex.store import Schema, VectorStore, make_store
from omnidex.store.base import DEFAULT_IMAGE_DIM

log = logging.getLogger(__name__)


QUERY_THREADS = 2


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def set_torch_threads(count: int) -> None:
    import torch

    torch.set_num_threads(count)


class DataDirLock:
    """An exclusive lock on the data dir, held for the life of the process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            raise DataDirLocked(
                f"the data dir {path.parent} is in use by {holder} (a running `omnidex serve`?): "
                "stop it, or talk to it over HTTP instead"
            ) from exc
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"pid {os.getpid()}")
        self._file.flush()

    def release(self) -> None:
        if not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


class BackgroundOptimizer:
    """Runs ``store.optimize()`` off the request path once enough new points arrived."""

    def __init__(self, store: VectorStore, threshold: int) -> None:
        self.store = store
        self.threshold = threshold
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, points: int) -> None:
        with self._lock:
            self._pending += points
            if self._pending < self.threshold or (self._thread and self._thread.is_alive()):
                return
            self._pending = 0
            self._thread = threading.Thread(target=self._optimize, name="optimize", daemon=True)
            self._thread.start()

    def _optimize(self) -> None:
        try:
            self.store.optimize()
        except Exception:
            log.exception("optimizing the vector index failed")

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()


class Runtime:
    """All components of one omnidex process."""

    def __init__(
        self,
        settings: Settings,
        *,
        text_encoder: TextEncoder | None = None,
        sparse_encoder: SparseEncoder | None = None,
        image_encoder: ImageEncoder | ClipUnavailable | None = None,
        transcriber: WhisperTranscriber | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = None if settings.qdrant_url else DataDirLock(settings.lock_path)
        try:
            self.db = Database(settings.resolved_database_url)
            self.db.migrate(apply=settings.migrate_on_start)
            self.blobs = make_blob_store(settings.blob_url, settings.blobs_dir, settings.s3_endpoint_url)
            self.text_encoder = text_encoder or make_text_encoder(settings)
            self.sparse_encoder = sparse_encoder or make_sparse_encoder(settings)
            self.transcriber = transcriber or make_transcriber(settings)
            clip = image_encoder or make_image_encoder(settings)
            self.image_encoder = None if isinstance(clip, ClipUnavailable) else clip
            self.visual_search_off = clip.reason if isinstance(clip, ClipUnavailable) else None
            if self.visual_search_off:
                log.warning(
                    "visual search is off: %s; pictures are indexed by their OCR text only",
                    self.visual_search_off,
                )
            self.ocr_off = "turned off (OMNIDEX_OCR=false)" if not settings.ocr else ocr_status()
            if self.ocr_off:
                log.warning("OCR is off: %s", self.ocr_off)
            image_dim = self.image_encoder.dim if self.image_encoder else DEFAULT_IMAGE_DIM
            self.store = make_store(settings, Schema(text_dim=self.text_encoder.dim, image_dim=image_dim))
            self.generator = generator or make_generator(settings)
        except BaseException:
            self._release_lock()
            raise
        self.pipeline = Pipeline(
            blobs=self.blobs,
            store=self.store,
            text_encoder=self.text_encoder,
            sparse_encoder=self.sparse_encoder,
            image_encoder=self.image_encoder,
            transcriber=self.transcriber,
            chunk_max_chars=settings.chunk_max_chars,
            chunk_overlap_chars=settings.chunk_overlap_chars,
            batch_size=settings.text_batch_size,
            max_text_file_bytes=settings.max_text_file_bytes,
            max_image_pixels=settings.max_image_pixels,
            ocr=self.ocr_off is None,
            ocr_timeout=settings.ocr_timeout_seconds,
            keyframes_per_minute=settings.keyframes_per_minute,
            max_pictures=settings.max_pictures_per_document,
        )
        self.retriever = Retriever(
            self.store,
            self.text_encoder,
            self.sparse_encoder,
            self.image_encoder,
            self.transcriber,
            max_image_pixels=settings.max_image_pixels,
            ocr=self.ocr_off is None,
        )
        self.optimizer = BackgroundOptimizer(self.store, settings.optimize_after_points)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # Torch's thread count is per thread. Batches of documents use every
        # core; a query is one short text, where two threads only spin-wait
        # against the web server, so queries run on threads of their own with one.
        self._torch_threads = torch_threads()
        self.query_executor = ThreadPoolExecutor(
            max_workers=QUERY_THREADS,
            thread_name_prefix="query",
            initializer=set_torch_threads,
            initargs=(1,),
        )
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
        )

    def make_worker(self) -> Worker:
        return Worker(
            self.db,
            self.pipeline,
            lease_seconds=self.settings.lease_seconds,
            poll_seconds=self.settings.poll_seconds,
            on_indexed=self.optimizer.add,
        )

    def start_workers(self, count: int) -> None:
        for index in range(count):
            worker = self.make_worker()
            thread = threading.Thread(
                target=self._run_worker, args=(worker,), name=f"worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run_worker(self, worker: Worker) -> None:
        set_torch_threads(self._torch_threads)
        worker.run(self._stop)

    @property
    def worker_count(self) -> int:
        return len(self._threads)

    def stop_workers(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def close(self) -> None:
        self.stop_workers()
        self.query_executor.shutdown(wait=True)
        self.optimizer.join()
        self.store.close()
        self.db.close()
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
