"""The HTTP app over fake engines, on a real socket: shapes, error envelopes, status codes.

No MLX here: tests/support/fake_app.py serves fake models, so these run in seconds and pin
down the HTTP contract independently of the engine.
"""

from __future__ import annotations

import base64
import struct

import httpx
import pytest

from tests.support.fake_app import MAX_INPUTS, MAX_REQUEST_BYTES
from tests.support.server import start_fake_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    server = start_fake_app(tmp_path_factory.mktemp("fake-app"))
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield http
    assert server.stop() == 0, server.log_tail()


def embed(client, **body):
    return client.post("/v1/embeddings", json={"model": "mini", **body})


def assert_openai_error(response, status, param=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    expected_type = {404: "not_found_error", 500: "server_error", 503: "overloaded_error"}
    assert error["type"] == expected_type.get(status, "invalid_request_error")
    if param is not None:
        assert error["param"] == param, error
    return error


def test_float_response_shape(client):
    response = embed(client, input=["a b", "c"], user="someone")
    assert response.status_code == 200
    assert response.headers["X-Truncated-Inputs"] == "0"
    body = response.json()
    assert body["object"] == "list" and body["model"] == "mini"
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert all(d["object"] == "embedding" and len(d["embedding"]) == 8 for d in body["data"])
    assert body["usage"] == {"prompt_tokens": 7, "total_tokens": 7}


def test_base64_is_little_endian_float32_of_the_float_vector(client):
    floats = embed(client, input="hello", encoding_format="float").json()["data"][0]["embedding"]
    encoded = embed(client, input="hello", encoding_format="base64").json()["data"][0]
    raw = base64.b64decode(encoded["embedding"])
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == pytest.approx(floats, abs=1e-7)


def test_model_is_echoed_as_sent(client):
    for name in ("MINI", "small", "test/mini"):
        assert embed(client, model=name, input="x").json()["model"] == name


def test_dimensions_and_truncation_header(client):
    body = embed(client, input="x", dimensions=3).json()
    assert len(body["data"][0]["embedding"]) == 3
    long_text = " ".join(["w"] * 40)
    response = embed(client, input=[long_text, "x"])
    assert response.headers["X-Truncated-Inputs"] == "1"
    assert response.json()["usage"]["prompt_tokens"] == 16 + 3
    error = assert_openai_error(embed(client, input=["x", long_text], truncate=False), 400)
    assert error["param"] == "input[1]"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": []}, "input"),
        ({"input": ["a", 1]}, "input[1]"),
        ({"input": [[1], [-1]]}, "input[1]"),
        ({"input": ["x"] * (MAX_INPUTS + 1)}, "input"),
        ({"input": None}, "input"),
        ({"input": {"a": 1}}, "input"),
        ({}, "input"),
        ({"input": "x", "model": 5}, "model"),
        ({"input": "x", "model": "../etc/passwd"}, "model"),
        ({"input": "x", "model": "rr"}, "model"),
        ({"input": "x", "dimensions": 0}, "dimensions"),
        ({"input": "x", "dimensions": 9}, "dimensions"),
        ({"input": "x", "dimensions": "4"}, "dimensions"),
        ({"input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"input": "x", "truncate": "no"}, "truncate"),
        ({"input": "x", "instruction": 3}, "instruction"),
    ],
)
def test_bad_requests_get_400_in_the_envelope_and_the_server_keeps_serving(client, body, param):
    assert_openai_error(embed(client, **body), 400, param)
    assert embed(client, input="still fine").status_code == 200


@pytest.mark.parametrize(
    "content", [b"{bad", b"", b"[1, 2]", b'"text"', b"\xff\xfe", b"[" * 100_000]
)
def test_malformed_bodies(client, content):
    response = client.post(
        "/v1/embeddings", content=content, headers={"Content-Type": "application/json"}
    )
    assert_openai_error(response, 400)


def test_unknown_model_is_404(client):
    error = assert_openai_error(embed(client, model="nope", input="x"), 404, "model")
    assert "nope" in error["message"]


def test_sanic_errors_use_the_envelope(client):
    assert_openai_error(client.get("/v1/nothing"), 404)
    wrong_method = client.get("/v1/embeddings")
    assert_openai_error(wrong_method, 405)
    assert "POST" in wrong_method.headers["Allow"]
    too_big = client.post("/v1/embeddings", content=b"x" * (MAX_REQUEST_BYTES + 1))
    assert_openai_error(too_big, 413)
    assert embed(client, input="x").status_code == 200


def test_ollama_paths_use_the_flat_envelope(client):
    response = client.post("/api/nothing", json={})
    assert response.status_code == 404
    assert isinstance(response.json()["error"], str)


def test_pull_is_refused_where_the_composition_root_wired_no_pull_jobs(client):
    # The route never builds its own puller (over the full catalog it could read local disk).
    response = client.post("/api/pull", json={"model": "org/not-installed"})
    assert response.status_code == 503
    assert "not enabled" in response.json()["error"]


def test_nan_is_never_sent(client):
    response = client.post("/v1/embeddings", json={"model": "nan", "input": "x"})
    assert_openai_error(response, 500)
    assert "NaN" in response.json()["error"]["message"]


def test_models_health_tokenize(client):
    models = client.get("/v1/models").json()
    assert models["object"] == "list"
    assert {m["id"]: m["type"] for m in models["data"]} == {
        "mini": "embedding",
        "nan": "embedding",
        "rr": "reranker",
    }
    assert all(m["object"] == "model" and m["owned_by"] == "mlx-serve" for m in models["data"])
    assert all(isinstance(m["created"], int) for m in models["data"])

    embed(client, input="warm")
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["version"] == "0.0.0-test" and body["device"] == "fake"
    assert "mini" in body["models_loaded"]
    (mini,) = [m for m in body["models"] if m["name"] == "mini"]
    assert mini["type"] == "embedding" and mini["in_use"] == 0
    assert mini["expires_at"] is None or mini["expires_at"].endswith("+00:00")

    tokens = client.post("/v1/tokenize", json={"model": "small", "input": ["a b", "c"]}).json()
    assert tokens["model"] == "small" and tokens["object"] == "list"
    assert [d["tokens"] for d in tokens["data"]] == [4, 3]
    assert [len(d["token_ids"]) for d in tokens["data"]] == [4, 3]
    assert_openai_error(client.post("/v1/tokenize", json={"model": "mini", "input": []}), 400)


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ({"input": "x", "encoding_format": "hex"}, '"hex"'),
        ({"input": "x", "dimensions": "4"}, '"4"'),
        ({"input": "x", "truncate": "no"}, '"no"'),
        ({"input": "x", "token_id_vocabulary": "o200k_base"}, '"o200k_base"'),
        ({"input": "x", "truncate_prompt_tokens": 2.5}, "2.5"),
    ],
)
def test_validation_messages_echo_the_bad_value(client, body, shown):
    error = assert_openai_error(embed(client, **body), 400)
    assert error["message"].endswith(f"got {shown}"), error
