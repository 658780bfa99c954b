"""The OpenAPI 3.1 document, built from the app's route table and the routes' pydantic models.

Every route the app serves appears, in every dialect. A route describes itself with the
``documented`` decorator on its handler::

    @documented(body=EmbeddingsBody, response=EmbeddingsResponse, summary="Create embeddings")
    async def create_embeddings(request): ...

``body`` is the same pydantic model the handler validates with (``parse_body``), so the
document cannot disagree with validation. A route without the decorator still appears, with
an open JSON body and response. Error responses use the envelope of the route's dialect
(``{"error": "..."}`` under ``/api``, OpenAI's elsewhere). Pydantic writes JSON Schema 2020-12,
which is what OpenAPI 3.1 uses, so its schemas go in as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from sanic import Sanic

from mlx_serve.entrypoints.http.errors import is_ollama_path
from mlx_serve.entrypoints.http.response_models import OllamaError, OpenAIError

F = TypeVar("F", bound=Callable[..., Any])
DOCUMENTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REF_TEMPLATE = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    """What a handler declares about itself for the document."""

    summary: str = ""
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    # Other success media types, e.g. {"application/x-ndjson": OllamaStatus}.
    content_types: dict[str, type[BaseModel] | None] = field(default_factory=dict)
    response_headers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # Statuses other than 200 whose body is not an error envelope (e.g. /health's 503).
    statuses: dict[str, type[BaseModel]] = field(default_factory=dict)


def documented(
    *,
    summary: str = "",
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    content_types: dict[str, type[BaseModel] | None] | None = None,
    response_headers: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    statuses: dict[str, type[BaseModel]] | None = None,
) -> Callable[[F], F]:
    """Attach an Operation to a handler (read by ``build_document``)."""

    def mark(handler: F) -> F:
        handler.__openapi__ = Operation(  # type: ignore[attr-defined]
            summary, body, response, dict(content_types or {}), response_headers, tags,
            dict(statuses or {}),
        )
        return handler

    return mark


def _operation_of(handler: Any) -> Operation:
    return getattr(handler, "__openapi__", None) or Operation()


def _openapi_path(sanic_path: str) -> tuple[str, list[str]]:
    """``v1/x/<name:str>`` -> (``/v1/x/{name}``, ["name"])."""
    names: list[str] = []

    def repl(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return "{" + match.group(1) + "}"

    path = re.sub(r"<([A-Za-z_][A-Za-z0-9_]*)(?::[^>]*)?>", repl, sanic_path)
    return "/" + path.lstrip("/"), names


def _ref(model: type[BaseModel] | None) -> dict[str, Any]:
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)} if model else {}


def _default_tag(path: str) -> str:
    if is_ollama_path(path):
        return "Ollama"
    if "rerank" in path:
        return "Rerank"
    return "OpenAI" if path.startswith("/v1/") else "Server"


def build_document(app: Sanic, *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app`` as a JSON-ready dict."""
    models: set[type[BaseModel]] = {OpenAIError, OllamaError}
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(app.router.routes, key=lambda r: r.path):
        path, params = _openapi_path(route.path)
        operation = _operation_of(route.handler)
        for method in sorted(set(route.methods) & set(DOCUMENTED_METHODS)):
            item = _operation(path, method, operation, params, route.name)
            paths.setdefault(path, {})[method.lower()] = item
            models.update(
                m for m in (operation.body, operation.response, *operation.content_types.values(),
                            *operation.statuses.values())
                if m is not None
            )  # fmt: skip
    _, top = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template=REF_TEMPLATE,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Embeddings and reranking on MLX: OpenAI, Jina, Cohere and Ollama "
            "dialects. Send the API key as 'Authorization: Bearer <key>' or 'x-api-key'.",
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    }


def _operation(
    path: str, method: str, operation: Operation, params: list[str], name: str
) -> dict[str, Any]:
    error = OllamaError if is_ollama_path(path) else OpenAIError
    error_content = {"application/json": {"schema": _ref(error)}}
    success: dict[str, Any] = {"description": "success"}
    content: dict[str, Any] = {}
    if operation.response is not None:
        content["application/json"] = {"schema": _ref(operation.response)}
    for media, model in operation.content_types.items():
        content[media] = {"schema": _ref(model)}
    if content:
        success["content"] = content
    if operation.response_headers:
        success["headers"] = {h: {"schema": {"type": "string"}} for h in operation.response_headers}
    item: dict[str, Any] = {
        # Route names are "<app>.<blueprint>.<handler>": the app name is not part of the API.
        "operationId": f"{method.lower()}_{name.split('.', 1)[-1].replace('.', '_')}",
        "summary": operation.summary or f"{method} {path}",
        "tags": list(operation.tags) or [_default_tag(path)],
        "responses": {
            "200": success,
            "4XX": {"description": "the request is wrong; the message says why",
                    "content": error_content},
            "5XX": {"description": "server error or overloaded (503 with Retry-After)",
                    "content": error_content},
        },
        "security": [{}, {"bearer": []}, {"apiKey": []}],
    }
    for status, model in operation.statuses.items():
        item["responses"][status] = {
            "description": f"status {status}",
            "content": {"application/json": {"schema": _ref(model)}},
        }
    if params:
        item["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ]
    if operation.body is not None:
        item["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(operation.body)}},
        }
    return item
