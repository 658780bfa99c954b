"""Every error the HTTP API answers, in the envelope its clients parse.

``/api/*`` (Ollama) answers ``{"error": "<message>"}``; everything else answers the OpenAI
envelope ``{"error": {"message", "type", "param", "code"}}``. One handler catches every
exception, Sanic's own (404, 405, 413, timeouts) included, so no client ever sees Sanic's
default HTML/text error page or a bare 500 for a bad request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from loguru import logger
from sanic import Request
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, json

from mlx_serve.domain.errors import (
    InvalidRequest,
    MlxServeError,
    ModelAlreadyExists,
    ModelLoadError,
    ModelNotFound,
    Overloaded,
    PullError,
    QueueFull,
    RequestTooCostly,
)

_TYPES = {
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def error_type(status: int) -> str:
    """The OpenAI ``type`` for a status code."""
    if status in _TYPES:
        return _TYPES[status]
    return "invalid_request_error" if status < 500 else "server_error"


def is_ollama_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def is_rerank_path(path: str) -> bool:
    """Reranking and scoring routes (every dialect: Jina, Cohere, infinity, TEI, vLLM)."""
    return path.rstrip("/").endswith(("/rerank", "/score"))


def error_response(
    path: str,
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | int | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    """An error response in the envelope the client of ``path`` expects."""
    body: dict[str, Any]
    if is_ollama_path(path):
        body = {"error": message}
    else:
        body = {
            "error": {
                "message": message,
                "type": error_type(status),
                "param": param,
                "code": code,
            }
        }
        if is_rerank_path(path):
            # Jina's clients (LangChain, LlamaIndex JinaRerank) read ``detail``, and without
            # it every error turns into KeyError: 'detail', hiding the message.
            body["detail"] = message
    return json(body, status=status, headers=headers)


def _domain_status(exc: MlxServeError) -> tuple[int, str | None, dict[str, str]]:
    """Status, OpenAI code and extra headers of a domain error."""
    if isinstance(exc, RequestTooCostly):
        return 413, "request_too_large", {}
    if isinstance(exc, InvalidRequest):
        return 400, None, {}
    if isinstance(exc, ModelNotFound):
        return 404, "model_not_found", {}
    if isinstance(exc, ModelAlreadyExists):
        return 409, "model_already_exists", {}
    if isinstance(exc, Overloaded):
        return 503, "overloaded", {"Retry-After": str(max(1, exc.retry_after_seconds))}
    if isinstance(exc, QueueFull):  # admission control: OpenAI's rate_limit_error
        return 429, "queue_full", {"Retry-After": str(max(1, exc.retry_after_seconds))}
    if isinstance(exc, PullError):
        return exc.status, None, {}
    if isinstance(exc, ModelLoadError):
        # The server's copy of the model is broken, not the request: 503 naming the model.
        return 503, "model_load_failed", {"Retry-After": "60"}
    # ModelLoadError and anything else we raised on purpose: our fault, message still useful.
    return 500, None, {}


def _path_of(request: Request | None) -> str:
    try:
        return request.path if request is not None else "/"
    except Exception:  # the bogus request Sanic builds for a broken request line
        return "/"


def redact_paths(message: str, private_paths: Iterable[tuple[str, str]]) -> str:
    """``message`` with each private directory replaced by its placeholder (longest first)."""
    for root, placeholder in sorted(private_paths, key=lambda pair: -len(pair[0])):
        if root and root != "/":
            message = message.replace(root, placeholder)
    return message


def _redacted(request: Request | None, message: str) -> str:
    """No absolute server path in a response: the models directory, the homes."""
    try:
        private = request.app.ctx.private_paths  # type: ignore[union-attr]
    except AttributeError:
        return message
    return redact_paths(message, private)


async def handle_exception(request: Request, exc: Exception) -> HTTPResponse:
    """Sanic error handler for every exception (registered for ``Exception``)."""
    path = _path_of(request)
    if isinstance(exc, MlxServeError):
        status, code, headers = _domain_status(exc)
        if status >= 500:
            logger.opt(exception=exc).error("{} {} failed: {}", _method(request), path, exc)
        return error_response(
            path, status, _redacted(request, exc.message), param=exc.param, code=code,
            headers=headers,
        )
    if isinstance(exc, SanicException):
        status = int(getattr(exc, "status_code", 500) or 500)
        headers = {str(k): str(v) for k, v in (getattr(exc, "headers", None) or {}).items()}
        message = _sanic_message(request, exc, status)
        if status >= 500:
            logger.opt(exception=exc).error("{} {} failed: {}", _method(request), path, exc)
        if status == 503:
            headers.setdefault("Retry-After", "1")
        return error_response(path, status, _redacted(request, message), headers=headers)
    logger.opt(exception=exc).error("unexpected error in {} {}", _method(request), path)
    return error_response(
        path, 500, f"internal server error ({type(exc).__name__}); see the server log"
    )


def _method(request: Request | None) -> str:
    return getattr(request, "method", "?") or "?"


def _sanic_message(request: Request | None, exc: SanicException, status: int) -> str:
    """A message a person can act on for Sanic's own errors."""
    method, path = _method(request), _path_of(request)
    if status == 404:
        return f"no route for {method} {path}"
    if status == 405:
        allowed = (getattr(exc, "headers", None) or {}).get("Allow")
        hint = f"; allowed: {allowed}" if allowed else ""
        return f"method {method} is not allowed for {path}{hint}"
    if status == 413:
        return "request body is larger than the server accepts (MLX_SERVE_MAX_REQUEST_BYTES)"
    return str(exc) or "request failed"
