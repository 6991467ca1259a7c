"""The OpenAPI schema, completed where FastAPI cannot see: request bodies the routes read
themselves (search and answer JSON, streamed uploads), the bearer scheme, and the error
answers every endpoint may give."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from omnidex.schemas import AnswerRequest, SearchRequest

ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
COMMON_ERRORS = {
    "400": "The body is not well-formed, or asks for something that cannot be done.",
    "422": "A parameter or a field does not fit the schema.",
    "401": "An API key is needed, or the one sent is not valid (once keys exist).",
    "403": "The key's role may not do this, or (without keys) a request from another site.",
    "413": "The body is larger than the server takes.",
    "415": "The body is not of a type this endpoint reads.",
}
# What the request validators insist on: words (not only spaces), a picture or a recording.
SOMETHING_TO_FIND = [
    {"required": ["query"], "properties": {"query": {"type": "string", "pattern": "\\S"}}},
    {"required": ["image"], "properties": {"image": {"type": "string", "minLength": 1}}},
    {"required": ["audio"], "properties": {"audio": {"type": "string", "minLength": 1}}},
]
OPEN = {"/healthz", "/readyz"}  # answer without a key
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}
                },
            }
        }
    },
}


def completed_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi``: FastAPI's schema with what it cannot infer added, built once."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        components = schema.setdefault("components", {})
        models = components.setdefault("schemas", {})
        for model in (SearchRequest, AnswerRequest):
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            models.update(found.pop("$defs", {}))
            models[model.__name__] = {**found, "anyOf": SOMETHING_TO_FIND}
        components["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (`omnidex keys create`).",
            }
        }
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                if path not in OPEN:
                    operation["security"] = [{"bearer": []}, {}]  # a server without keys needs none
                    for status, description in COMMON_ERRORS.items():
                        operation["responses"].setdefault(status, {"description": description, **ERROR})
        schema["paths"]["/v1/documents"]["post"]["requestBody"] = UPLOAD_BODY
        app.openapi_schema = schema
        return schema

    return build
