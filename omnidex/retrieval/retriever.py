"""Query → vectors per space → one hybrid Qdrant query (prefetch + RRF) → hits.

A text query goes to ``text`` (dense), ``sparse`` (BM25) and, through CLIP's
text tower, ``image``. An image query goes to ``image`` and, through the text
OCR finds in it, to ``text`` and ``sparse``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from omnidex.encoders import ImageEncoder, SparseEncoder, TextEncoder
from omnidex.encoders.asr import Transcriber
from omnidex.encoders.rerank import Reranker
from omnidex.errors import IngestError, InvalidRequest, UnsupportedMediaType, UnsupportedType
from omnidex.media.audio import transcribe_file
from omnidex.media.images import ENCODE_SIDE, load_image, shrunk
from omnidex.media.ocr import ocr_image
from omnidex.retrieval.fusion import Fusion, fuse
from omnidex.retrieval.hits import to_hit
from omnidex.retrieval.moments import focus
from omnidex.retrieval.relevance import Relevance
from omnidex.retrieval.rerank import rerank
from omnidex.store import HybridQuery, QueryFilter, VectorStore
from omnidex.store.base import IMAGE_VECTOR, SPARSE_VECTOR, TEXT_VECTOR
from omnidex.types import MAX_TOP_K, Hit, SparseVector


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)
    image_text: str | None = None  # what OCR read in an image query
    transcript: str | None = None  # what was heard in a voice query
    notices: list[tuple[str, str]] = field(default_factory=list)  # (code, message): what was skipped


class Retriever:
    """Hybrid search over every vector space a query can be encoded into."""

    def __init__(
        self,
        store: VectorStore,
        text_encoder: TextEncoder,
        sparse_encoder: SparseEncoder,
        image_encoder: ImageEncoder | None = None,
        transcriber: Transcriber | None = None,
        *,
        max_image_pixels: int = 100_000_000,
        ocr: bool = True,
        fusion: Fusion | None = None,
        reranker: Reranker | None = None,
        rerank_top_n: int = 20,
        prefetch_factor: int = 4,
        min_prefetch: int = 40,
        relevance: Relevance | None = None,
    ) -> None:
        self.store = store
        self.text_encoder = text_encoder
        self.sparse_encoder = sparse_encoder
        self.image_encoder = image_encoder
        self.transcriber = transcriber
        self.max_image_pixels = max_image_pixels
        self.ocr = ocr
        self.fusion = fusion or Fusion()
        self.reranker = reranker
        self.rerank_top_n = rerank_top_n
        self.prefetch_factor = prefetch_factor
        self.min_prefetch = min_prefetch
        self.relevance = relevance or Relevance()

    def search(
        self,
        tenant: str,
        query: str | None = None,
        *,
        image: bytes | None = None,
        audio: bytes | None = None,
        top_k: int = 10,
        modalities: Sequence[str] = (),
        doc_ids: Sequence[str] = (),
    ) -> SearchResult:
        """The ``top_k`` best items of ``tenant`` for words, a picture and/or a voice question.

        A voice question is transcribed and searched as words. Raises InvalidRequest.
        """
        query = (query or "").strip()
        if not query and not image and not audio:
            raise InvalidRequest("give a query: words, a picture, a voice recording, or several")
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidRequest(f"top_k must be between 1 and {MAX_TOP_K}")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        dense: dict[str, list[float]] = {}
        sparse: dict[str, SparseVector] = {}
        image_text = transcript = None
        if audio:
            transcript = self._transcribe_query(audio)
            timings["transcribe"] = _ms_since(started)
            query = " ".join(part for part in (query, transcript) if part)
        if image:
            image_text = self._encode_image_query(image, dense)
            timings["image"] = _ms_since(started)
        words = " ".join(part for part in (query, image_text) if part)
        if words:
            dense[TEXT_VECTOR] = self.text_encoder.encode([words])[0]
            sparse[SPARSE_VECTOR] = self.sparse_encoder.encode_query(words)
            if query and self.image_encoder is not None and IMAGE_VECTOR not in dense:
                dense[IMAGE_VECTOR] = self.image_encoder.encode_texts([query])[0]
        if not dense and not sparse:
            raise InvalidRequest("visual search is off and no text could be read in the image")
        timings["encode"] = _ms_since(started)
        request = HybridQuery(
            filter=QueryFilter(tenant=tenant, doc_ids=tuple(doc_ids), modalities=tuple(modalities)),
            # Speech hits from further down may move up to a better sentence (retrieval.moments).
            limit=min(MAX_TOP_K, top_k * 2),
            prefetch_limit=max(self.min_prefetch, top_k * self.prefetch_factor),
            dense=dense,
            sparse=sparse,
        )
        started = time.perf_counter()
        points = fuse(self.store.search(request), self.fusion, request.limit)
        timings["query"] = _ms_since(started)
        hits = focus([to_hit(point) for point in points], points, dense.get(TEXT_VECTOR))
        result = SearchResult(hits, timings, image_text, transcript)
        if self.reranker is not None and words:
            started = time.perf_counter()
            result.hits, failed = rerank(hits, words, self.reranker, max(top_k, self.rerank_top_n))
            timings["rerank"] = _ms_since(started)
            if failed:
                result.notices.append(("reranker_failed", f"{failed}; the hits are in fused order"))
        result.hits = result.hits[:top_k]
        for hit in result.hits:
            hit.relevance = self.relevance.label(hit.scores)
        return result

    def _transcribe_query(self, data: bytes) -> str:
        if self.transcriber is None:
            raise InvalidRequest("voice questions need speech recognition, which is off here")
        with tempfile.NamedTemporaryFile(suffix=".audio") as handle:
            handle.write(data)
            handle.flush()
            try:
                heard = " ".join(s.text for s in transcribe_file(Path(handle.name), self.transcriber))
            except UnsupportedType as exc:
                raise UnsupportedMediaType(f"the voice question: {exc.message}") from exc
            except IngestError as exc:
                raise InvalidRequest(f"the voice question: {exc.message}") from exc
        if not heard:
            raise InvalidRequest("no speech was heard in the voice question")
        return heard

    def _encode_image_query(self, data: bytes, dense: dict[str, list[float]]) -> str:
        try:
            loaded = load_image(data, self.max_image_pixels)
        except IngestError as exc:
            raise InvalidRequest(f"the query image: {exc.message}") from exc
        if self.image_encoder is not None:
            dense[IMAGE_VECTOR] = self.image_encoder.encode_images([shrunk(loaded.image, ENCODE_SIDE)])[0]
        return ocr_image(loaded.image) if self.ocr else ""


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
