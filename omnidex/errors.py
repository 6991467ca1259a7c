"""One exception tree for omnidex.

::

    OmnidexError                  (500 internal)
    ├── InvalidRequest            (400 invalid_request)
    ├── Unauthorized              (401 unauthorized) no key, or a wrong one, where keys are needed
    ├── Forbidden                 (403 forbidden) the key's role may not do this
    ├── NotFound                  (404 not_found)
    ├── PayloadTooLarge           (413 payload_too_large)
    ├── UnsupportedMediaType      (415 unsupported_media_type)
    ├── Unavailable               (503 unavailable)
    │   ├── DataDirLocked         (503 data_dir_locked)
    │   └── NoGenerator           (503 generator_not_configured)
    ├── GeneratorError            (502 generator_failed) the answering model let us down
    │   └── GeneratorTimeout      (502 generator_timeout)
    ├── RerankerError             (502 reranker_failed) searches still answer, in fused order
    ├── ConfigError               (500 config_error)
    │   └── MissingExtra          (500 missing_extra)
    └── IngestError               (422 ingest_failed) a document could not be indexed
        ├── UnsupportedType       (415 unsupported_type)
        ├── EmptyFile             (422 empty_file)
        └── CorruptFile           (422 corrupt_file)

Every class carries an HTTP ``status`` and a machine ``code``; the API maps
them to ``{"error": {"code", "message"}}`` in one exception handler.
Third-party errors are translated where they are caught (``raise … from exc``).
"""

from __future__ import annotations

import re


class OmnidexError(Exception):
    status: int = 500
    code: str = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(OmnidexError):
    status = 400
    code = "invalid_request"


class Unauthorized(OmnidexError):
    status = 401
    code = "unauthorized"


class Forbidden(OmnidexError):
    status = 403
    code = "forbidden"


class NotFound(OmnidexError):
    status = 404
    code = "not_found"


class Conflict(OmnidexError):
    status = 409
    code = "conflict"


class PayloadTooLarge(OmnidexError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(OmnidexError):
    status = 415
    code = "unsupported_media_type"


class Unavailable(OmnidexError):
    status = 503
    code = "unavailable"


class DataDirLocked(Unavailable):
    code = "data_dir_locked"


class GeneratorError(OmnidexError):
    """The generator failed, timed out, or answered with something unusable."""

    status = 502
    code = "generator_failed"


class GeneratorTimeout(GeneratorError):
    code = "generator_timeout"


class RerankerError(OmnidexError):
    status = 502
    code = "reranker_failed"


class NoGenerator(Unavailable):
    code = "generator_not_configured"


class ConfigError(OmnidexError):
    code = "config_error"


class MissingExtra(ConfigError):
    code = "missing_extra"

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(f"{module} is not installed: pip install 'omnidex[{extra}]'")


class IngestError(OmnidexError):
    """A document could not be indexed; the message is shown to people as is."""

    status = 422
    code = "ingest_failed"


class UnsupportedType(IngestError):
    status = 415
    code = "unsupported_type"


class EmptyFile(IngestError):
    code = "empty_file"


class CorruptFile(IngestError):
    code = "corrupt_file"


class SpeechServerError(IngestError):
    """The speech recognition server could not be reached or failed (OMNIDEX_ASR=openai)."""

    status = 502
    code = "asr_failed"


def reason(exc: BaseException, limit: int = 300) -> str:
    """A third-party error as a short phrase for a person: its first line, or its type's name,
    with any file path on this server said as "the file" (paths tell callers nothing they need)."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return _PATH.sub("the file", first)[:limit]


_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s'\"/:]+/)+[^\s'\",:;)]*")
