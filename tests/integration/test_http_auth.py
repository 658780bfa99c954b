"""API keys on a real socket: every route of the OpenAPI document, each dialect's 401/403, and
the client SDKs (openai, cohere, ollama) authenticating with their own ``api_key`` options.
"""

from __future__ import annotations

import cohere
import httpx
import ollama
import openai
import pytest

from tests.support.server import start_fake_app

INFERENCE_KEY = "sk-inference-0123456789"
SECOND_KEY = "sk-second-key"
ADMIN_KEY = "sk-admin-abcdef"
OPEN = {"/health", "/openapi.json", "/docs"}
ADMIN = {"/api/pull", "/api/delete"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("auth")
    key_file = root / "admin-keys"
    key_file.write_text(f"# admin keys, one per line\n\n{ADMIN_KEY}\n")
    server = start_fake_app(root, extra_env={
        "MLX_SERVE_API_KEY": f"{INFERENCE_KEY},{SECOND_KEY}",
        "MLX_SERVE_ADMIN_API_KEY_FILE": str(key_file),
    })  # fmt: skip
    yield server
    assert server.stop() == 0, server.log_tail()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def operations(http) -> list[tuple[str, str]]:
    doc = http.get("/openapi.json").json()
    return [(path, method.upper()) for path, item in doc["paths"].items() for method in item]


def call(http, path: str, method: str, headers: dict[str, str] | None = None):
    body = {} if method in ("POST", "DELETE") else None
    return http.request(method, path, json=body, headers=headers or {})


def assert_refused(response, path: str, status: int) -> None:
    assert response.status_code == status, (path, response.status_code, response.text)
    body = response.json()
    if path.startswith("/api/"):
        assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    else:
        error = body["error"]
        assert set(error) == {"message", "type", "param", "code"}
        expected = "authentication_error" if status == 401 else "invalid_request_error"
        assert error["type"] == expected and error["message"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_document_lists_every_dialect(http):
    paths = {path for path, _ in operations(http)}
    assert {"/v1/embeddings", "/v1/rerank", "/v2/rerank", "/api/embed", "/metrics"} <= paths
    assert paths >= ADMIN | OPEN


def test_every_route_refuses_a_missing_or_wrong_key(http):
    checked = 0
    for path, method in operations(http):
        if path in OPEN:
            assert call(http, path, method).status_code == 200, path
            continue
        assert_refused(call(http, path, method), path, 401)
        assert_refused(call(http, path, method, {"Authorization": "Bearer wrong"}), path, 401)
        assert_refused(call(http, path, method, {"x-api-key": INFERENCE_KEY + "x"}), path, 401)
        # A Basic credential is not an API key.
        assert_refused(call(http, path, method, {"Authorization": f"Basic {INFERENCE_KEY}"}),
                       path, 401)
        checked += 1
    assert checked >= 10


def test_the_inference_key_opens_inference_routes_but_not_model_management(http):
    for path, method in operations(http):
        if path in OPEN:
            continue
        for headers in ({"Authorization": f"Bearer {INFERENCE_KEY}"}, {"x-api-key": SECOND_KEY}):
            response = call(http, path, method, headers)
            if path in ADMIN:
                assert_refused(response, path, 403)
            else:
                assert response.status_code not in (401, 403), (path, response.text)


def test_the_admin_key_opens_everything(http):
    for path, method in operations(http):
        response = call(http, path, method, {"Authorization": f"Bearer {ADMIN_KEY}"})
        assert response.status_code not in (401, 403), (path, response.text)
    # Past auth, the route itself answers: a model that is not installed.
    response = http.request("DELETE", "/api/delete", json={"model": "absent"},
                            headers={"x-api-key": ADMIN_KEY})
    assert response.status_code == 404 and "absent" in response.json()["error"]


def test_health_stays_open_and_preflights_are_not_refused(http):
    assert http.get("/health").json()["status"] == "ok"
    response = http.options("/v1/embeddings", headers={"Access-Control-Request-Method": "POST"})
    assert response.status_code != 401


def test_openai_sdk_with_api_key(server):
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=INFERENCE_KEY)
    result = client.embeddings.create(model="mini", input=["hello", "world"])
    assert len(result.data) == 2 and len(result.data[0].embedding) == 8
    wrong = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        wrong.embeddings.create(model="mini", input="hello")
    assert caught.value.status_code == 401
    assert caught.value.body["type"] == "authentication_error"


def test_cohere_sdk_with_api_key(server):
    client = cohere.ClientV2(api_key=INFERENCE_KEY, base_url=server.base_url)
    # The fake app serves no reranker engine: past auth, the route answers its own 500/404,
    # never 401. A wrong key is refused first.
    wrong = cohere.ClientV2(api_key="nope", base_url=server.base_url)
    with pytest.raises(cohere.core.ApiError) as caught:
        wrong.rerank(model="rr", query="q", documents=["a"])
    assert caught.value.status_code == 401
    with pytest.raises(cohere.core.ApiError) as served:
        client.rerank(model="rr", query="q", documents=["a"])
    assert served.value.status_code not in (401, 403)


def test_ollama_sdk_with_bearer_header(server, monkeypatch):
    client = ollama.Client(host=server.base_url, headers={"Authorization": f"Bearer {SECOND_KEY}"})
    assert len(client.embed(model="mini", input="hello").embeddings[0]) == 8
    # The SDK's own variable: it sends the key as a Bearer token.
    monkeypatch.setenv("OLLAMA_API_KEY", INFERENCE_KEY)
    assert [m.model for m in ollama.Client(host=server.base_url).list().models]
    monkeypatch.setenv("OLLAMA_API_KEY", "nope")
    with pytest.raises(ollama.ResponseError) as caught:
        ollama.Client(host=server.base_url).embed(model="mini", input="hello")
    assert caught.value.status_code == 401
    # An inference key cannot delete models; the admin key can try.
    with pytest.raises(ollama.ResponseError) as forbidden:
        client.delete("mini")
    assert forbidden.value.status_code == 403
