"""The error handler maps every exception to its status and envelope (no server needed)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from sanic.exceptions import MethodNotAllowed, NotFound, PayloadTooLarge, ServiceUnavailable

from mlx_serve.domain.errors import (
    InputTooLong,
    InvalidRequest,
    ModelAlreadyExists,
    ModelLoadError,
    ModelNotFound,
    Overloaded,
    PullError,
    RequestTooCostly,
    WrongModelType,
)
from mlx_serve.entrypoints.http.errors import handle_exception
from mlx_serve.entrypoints.http.schemas import param_name


def answer(exc: Exception, path: str = "/v1/embeddings"):
    request = SimpleNamespace(path=path, method="POST")
    response = asyncio.run(handle_exception(request, exc))  # type: ignore[arg-type]
    return response.status, json.loads(response.body), dict(response.headers)


@pytest.mark.parametrize(
    ("exc", "status", "kind", "param"),
    [
        (InvalidRequest("bad", param="input[3]"), 400, "invalid_request_error", "input[3]"),
        (InputTooLong("long", param="input[0]"), 400, "invalid_request_error", "input[0]"),
        (WrongModelType("rr", "reranker", "embeddings"), 400, "invalid_request_error", "model"),
        (ModelNotFound("x"), 404, "not_found_error", "model"),
        (ModelAlreadyExists("taken"), 409, "invalid_request_error", None),
        (PullError("gated", status=403), 403, "invalid_request_error", None),
        # A broken copy of a model on the server: 503 (not the request's fault, not a crash).
        (ModelLoadError("broken files"), 503, "overloaded_error", None),
        (RequestTooCostly("too many tokens", param="input"), 413, "invalid_request_error",
         "input"),
        (Overloaded("busy", retry_after_seconds=3), 503, "overloaded_error", None),
        (NotFound("x"), 404, "not_found_error", None),
        (PayloadTooLarge("x"), 413, "invalid_request_error", None),
        (ServiceUnavailable("Response Timeout"), 503, "overloaded_error", None),
        (ZeroDivisionError("boom"), 500, "server_error", None),
    ],
)
def test_openai_envelope(exc, status, kind, param):
    got_status, body, _ = answer(exc)
    assert got_status == status
    assert body == {
        "error": {
            "message": body["error"]["message"],
            "type": kind,
            "param": param,
            "code": body["error"]["code"],
        }
    }
    assert body["error"]["message"]


def test_retry_after_and_allow_headers():
    assert answer(Overloaded("busy", retry_after_seconds=3))[2]["Retry-After"] == "3"
    assert answer(ServiceUnavailable("x"))[2]["Retry-After"] == "1"
    headers = answer(MethodNotAllowed("no", method="GET", allowed_methods=["POST"]))[2]
    assert "POST" in headers["Allow"]


def test_unexpected_errors_do_not_leak_details():
    _, body, _ = answer(RuntimeError("secret internal state"))
    assert "secret" not in body["error"]["message"]


def test_ollama_paths_get_a_flat_error():
    status, body, _ = answer(ModelNotFound("x"), path="/api/embed")
    assert status == 404 and body == {"error": "model 'x' not found"}


def test_param_names_follow_openai():
    assert param_name(("input", 3)) == "input[3]"
    assert param_name(("documents", 2, "text")) == "documents[2].text"
    assert param_name(()) is None
