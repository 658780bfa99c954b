"""Operations on a real socket: X-Request-Id, JSON logs, CORS, /metrics, the OpenAPI document
and the offline /docs page."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import start_fake_app

ORIGIN = "http://ui.example:3000"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_fake_app(tmp_path_factory.mktemp("ops"), extra_env={
        "MLX_SERVE_ALLOWED_ORIGINS": f"{ORIGIN},http://other.example",
        "MLX_SERVE_LOG_FORMAT": "json",
        "MLX_SERVE_LOG_LEVEL": "DEBUG",
    })  # fmt: skip
    yield server
    assert server.stop() == 0, server.log_tail()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def log_records(server) -> list[dict]:
    return [json.loads(line) for line in server.log_tail(1_000_000).splitlines()
            if line.startswith("{")]


def wait_for_log(server, predicate) -> dict:
    # The log line is written after the response is sent: poll, bounded.
    for _ in range(600):  # up to 30 s on a loaded machine
        for record in log_records(server):
            if predicate(record):
                return record
        time.sleep(0.05)
    raise AssertionError("no such log record:\n" + server.log_tail())


def test_request_id_is_echoed_and_logged(server, http):
    response = http.post("/v1/embeddings", json={"model": "mini", "input": "x"},
                         headers={"X-Request-Id": "trace-42.a"})
    assert response.status_code == 200 and response.headers["X-Request-Id"] == "trace-42.a"
    record = wait_for_log(server, lambda r: r["record"]["extra"].get("request_id") == "trace-42.a")
    assert "/v1/embeddings" in record["text"]


def test_request_id_is_made_up_when_missing_or_unsafe(server, http):
    made = http.get("/health").headers["X-Request-Id"]
    assert len(made) == 32 and made != http.get("/health").headers["X-Request-Id"]
    unsafe = http.get("/health", headers={"X-Request-Id": "a b\tc" + "x" * 300})
    assert unsafe.headers["X-Request-Id"] != "a b\tc" and " " not in unsafe.headers["X-Request-Id"]


def test_errors_carry_the_request_id_in_the_response_and_the_log(server, http):
    response = http.post("/v1/embeddings", json={"model": "nan", "input": "x"},
                         headers={"X-Request-Id": "boom-1"})
    assert response.status_code == 500 and response.headers["X-Request-Id"] == "boom-1"
    wait_for_log(server, lambda r: r["record"]["level"]["name"] == "ERROR"
                 and r["record"]["extra"].get("request_id") == "boom-1")


def test_cors_for_listed_origins_only(http):
    preflight = http.options("/v1/embeddings", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed = {h.strip().lower() for h in
               preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    response = http.post("/v1/embeddings", json={"model": "mini", "input": "x"},
                         headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers["Vary"]
    assert "X-Request-Id" in response.headers["Access-Control-Expose-Headers"]
    stranger = http.get("/health", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    refused = http.options("/v1/embeddings", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert refused.status_code >= 400 and "Access-Control-Allow-Origin" not in refused.headers


def metric_samples(http) -> dict:
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_requests_by_route_pattern_and_never_load_models(http):
    before = http.get("/health").json()["models_loaded"]
    http.post("/v1/embeddings", json={"model": "mini", "input": ["a", "b c"]})
    http.get("/no/such/route/12345")
    samples = metric_samples(http)
    ok = (("method", "POST"), ("route", "/v1/embeddings"), ("status", "200"))
    assert samples[("mlx_serve_http_requests_total", ok)] >= 1
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert samples[("mlx_serve_http_requests_total", unmatched)] >= 1
    assert not any("12345" in str(labels) for _, labels in samples)
    tokens = samples[("mlx_serve_tokens_total", (("kind", "embedding"), ("model", "mini")))]
    assert tokens >= 4
    # Scraping leaves the cache as it was: no model loaded by /metrics itself.
    loaded = set(http.get("/health").json()["models_loaded"])
    metric_samples(http)
    assert set(http.get("/health").json()["models_loaded"]) == loaded >= set(before)


def test_the_openapi_document_is_valid_3_1(http):
    document = http.get("/openapi.json").json()
    validate(document)  # raises on an invalid document
    assert document["openapi"].startswith("3.1")
    body = document["paths"]["/v1/embeddings"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    # The very model the route validates with: its fields and the required ones.
    assert {"model", "input", "encoding_format", "dimensions"} <= set(schema["properties"])
    assert set(schema["required"]) == {"model", "input"}
    error = document["paths"]["/api/embed"]["post"]["responses"]["4XX"]
    assert error["content"]["application/json"]["schema"]["$ref"].endswith("/OllamaError")


def test_docs_page_works_offline(http):
    page = http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/v1/embeddings" in page.text and "/api/embed" in page.text
    # Nothing fetched from elsewhere: no scripts, no absolute URLs (CDN styles, fonts, images).
    assert "<script" not in page.text.lower() and "://" not in page.text
