"""Reading a query from a request: JSON with base64 media, or a multipart form with files."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from omnidex.errors import InvalidRequest, PayloadTooLarge
from omnidex.schemas import SearchRequest

Query = TypeVar("Query", bound=SearchRequest)
_LIST_FIELDS = {"modalities", "doc_ids"}
MAX_QUERY_MEDIA_BYTES = 32 * 1024**2


async def read_query(request: Request, schema: type[Query]) -> tuple[Query, bytes | None, bytes | None]:
    """The query fields, the picture's bytes and the voice recording's bytes, from JSON or a form."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=2, max_fields=50) as form:
            files = {}
            for name in ("image", "audio"):
                upload = form.get(name)
                files[name] = await _read_upload(upload) if isinstance(upload, UploadFile) else None
            fields: dict[str, Any] = {
                key: form.getlist(key) if key in _LIST_FIELDS else form.get(key)
                for key in form.keys()  # noqa: SIM118 - a multi-dict
                if key not in files and form.get(key) != ""
            }
            if isinstance(fields.get("top_k"), str) and fields["top_k"].strip().isdigit():
                fields["top_k"] = int(fields["top_k"])  # a form's fields are all text
            if isinstance(fields.get("history"), str):  # a conversation, as JSON text
                fields["history"] = _json_field(fields["history"], "history")
            fields["image"] = "<file>" if files["image"] else None
            fields["audio"] = "<file>" if files["audio"] else None
        return _validate(schema, fields), files["image"], files["audio"]
    try:
        payload = await request.json()
    except ValueError as exc:
        raise InvalidRequest("the body is not valid JSON") from exc
    except RecursionError as exc:
        raise InvalidRequest("the body is nested too deeply to be a query") from exc
    body = _validate(schema, payload)
    image = decode_base64(body.image, "image") if body.image else None
    audio = decode_base64(body.audio, "audio") if body.audio else None
    return body, image, audio


def _json_field(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"{name}: a form field holding JSON, which this is not") from exc


def _validate(schema: type[Query], data: Any) -> Query:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    except RecursionError as exc:
        raise InvalidRequest("the body is nested too deeply to be a query") from exc


async def _read_upload(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_QUERY_MEDIA_BYTES + 1)
    if len(data) > MAX_QUERY_MEDIA_BYTES:
        raise PayloadTooLarge(f"a query file is larger than {MAX_QUERY_MEDIA_BYTES:,} bytes")
    return data


def decode_base64(encoded: str, field: str) -> bytes:
    """Bytes from base64 or a base64 data URL, at most MAX_QUERY_MEDIA_BYTES; raises InvalidRequest."""
    if encoded.startswith("data:") and "," in encoded:
        encoded = encoded.split(",", 1)[1]  # a data URL
    if len(encoded) > MAX_QUERY_MEDIA_BYTES * 4 // 3 + 4:
        raise PayloadTooLarge(f"the query {field} is larger than {MAX_QUERY_MEDIA_BYTES:,} bytes")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest(f"{field} is not valid base64") from exc
