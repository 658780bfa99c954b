"""``/v1/embeddings`` and friends on the real server with the real all-MiniLM-L6-v2.

Driven with the ``openai`` SDK exactly as users call it, and with raw httpx for exact shapes
and malformed requests. Vectors are compared to sentence-transformers on CPU.

Decision (10 MB input string): with ``truncate`` at its default (true) the server answers 200
with the embedding of the first ``max_length`` tokens and ``X-Truncated-Inputs: 1`` - the
contract's meaning of truncate, and what a client that sends a long document expects (it is
what sentence-transformers does). With ``truncate: false`` the same input is a 400 naming
``input[0]``. Either way the answer comes promptly and the server keeps serving.
"""

from __future__ import annotations

import concurrent.futures

import httpx
import numpy as np
import pytest
from openai import BadRequestError, NotFoundError, OpenAI

from tests.conftest import MINILM, SESSION_MAX_INPUTS, SESSION_MAX_REQUEST_BYTES

pytestmark = pytest.mark.slow

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "MLX is an array framework for machine learning on Apple silicon.",
    "Ein kurzer deutscher Satz mit Umlauten: äöü.",
    "short",
]
MAX_LENGTH = 256  # sentence_bert_config.json of all-MiniLM-L6-v2


@pytest.fixture(scope="module")
def openai_client(minilm_url):
    return OpenAI(base_url=f"{minilm_url}/v1", api_key="x", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def http(minilm_url):
    with httpx.Client(base_url=minilm_url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def reference_vectors(minilm_reference):
    return minilm_reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)


def cosines(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    b /= np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


def post(http, **body):
    return http.post("/v1/embeddings", json={"model": MINILM, **body})


def assert_openai_error(response, status, param=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    if param is not None:
        assert body["error"]["param"] == param, body
    return body["error"]


def assert_still_serving(http):
    response = post(http, input="the server still answers")
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 1


# --- the openai SDK ------------------------------------------------------------------------


def test_sdk_default_base64_matches_sentence_transformers(openai_client, reference_vectors):
    result = openai_client.embeddings.create(model=MINILM, input=TEXTS)
    vectors = [item.embedding for item in result.data]
    assert [item.index for item in result.data] == list(range(len(TEXTS)))
    assert np.asarray(vectors).shape == (len(TEXTS), 384)
    assert cosines(vectors, reference_vectors).min() >= 0.9999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert result.model == MINILM


def test_sdk_float_format_and_usage(openai_client, reference_vectors, minilm_reference):
    result = openai_client.embeddings.create(model=MINILM, input=TEXTS, encoding_format="float")
    assert cosines([d.embedding for d in result.data], reference_vectors).min() >= 0.9999
    expected = sum(len(ids) for ids in minilm_reference.tokenizer(TEXTS)["input_ids"])
    assert result.usage.prompt_tokens == expected
    assert result.usage.total_tokens == expected


def test_sdk_single_string(openai_client, reference_vectors):
    result = openai_client.embeddings.create(model=MINILM, input=TEXTS[1])
    assert len(result.data) == 1
    assert cosines(result.data[0].embedding, reference_vectors[1]) >= 0.9999


def test_sdk_dimensions_cut_and_renormalise(openai_client, reference_vectors):
    result = openai_client.embeddings.create(model=MINILM, input=TEXTS[:2], dimensions=128)
    vectors = np.asarray([d.embedding for d in result.data])
    assert vectors.shape == (2, 128)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert cosines(vectors, reference_vectors[:2, :128]).min() >= 0.9999


def test_sdk_token_id_input_matches_text(openai_client, http, reference_vectors):
    tokenized = http.post("/v1/tokenize", json={"model": MINILM, "input": TEXTS[:2]}).json()
    ids = [item["token_ids"] for item in tokenized["data"]]
    # Ids of the model's own vocabulary must say so: by default token ids are OpenAI's.
    own = {"token_id_vocabulary": "model"}
    result = openai_client.embeddings.create(model=MINILM, input=ids, extra_body=own)
    assert cosines([d.embedding for d in result.data], reference_vectors[:2]).min() >= 0.9999
    assert result.usage.prompt_tokens == sum(len(i) for i in ids)
    single = openai_client.embeddings.create(model=MINILM, input=ids[0], extra_body=own)
    assert len(single.data) == 1
    assert cosines(single.data[0].embedding, reference_vectors[0]) >= 0.9999


def test_sdk_errors_are_typed(openai_client):
    with pytest.raises(NotFoundError):
        openai_client.embeddings.create(model="no-such-model", input="x")
    with pytest.raises(BadRequestError):
        openai_client.embeddings.create(model=MINILM, input=[])


# --- exact shapes over raw HTTP -------------------------------------------------------------


def test_raw_float_shape(http):
    response = post(http, input=["a", "b"], encoding_format="float", user="ignored-extra")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["X-Truncated-Inputs"] == "0"
    body = response.json()
    assert set(body) == {"id", "object", "created", "data", "model", "usage"}
    assert body["id"].startswith("embd-") and isinstance(body["created"], int)
    assert body["object"] == "list" and body["model"] == MINILM
    for index, item in enumerate(body["data"]):
        assert set(item) == {"object", "embedding", "index"}
        assert item["object"] == "embedding" and item["index"] == index
        assert len(item["embedding"]) == 384
        assert all(isinstance(x, float) for x in item["embedding"])
    assert set(body["usage"]) == {"prompt_tokens", "total_tokens"}


def test_model_name_is_case_insensitive_and_echoed(http):
    response = post(http, model=MINILM.upper(), input="x")
    assert response.status_code == 200 and response.json()["model"] == MINILM.upper()


def test_models_health_and_tokenize(http, minilm_reference):
    models = http.get("/v1/models").json()
    entry = next(m for m in models["data"] if m["id"] == MINILM)
    assert entry == {
        "id": MINILM,
        "object": "model",
        "created": entry["created"],
        "owned_by": "mlx-serve",
        "type": "embedding",
    }
    post(http, input="warm up")
    health = http.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["version"] and body["device"]
    assert MINILM in body["models_loaded"]
    tokens = http.post("/v1/tokenize", json={"model": MINILM, "input": "hello world"}).json()
    expected = minilm_reference.tokenizer("hello world")["input_ids"]
    assert tokens["model"] == MINILM
    assert tokens["data"] == [{"index": 0, "tokens": len(expected), "token_ids": expected}]


def test_ten_megabyte_string_is_truncated_not_refused(http, minilm_reference):
    text = "hello world " * (10 * 1024 * 1024 // 12)
    response = post(http, input=text, encoding_format="float")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["X-Truncated-Inputs"] == "1"
    assert response.json()["usage"]["prompt_tokens"] == MAX_LENGTH
    expected = minilm_reference.encode("hello world " * 200, normalize_embeddings=True)
    assert cosines(response.json()["data"][0]["embedding"], expected) >= 0.9999
    refused = post(http, input=["fine", text], truncate=False)
    assert_openai_error(refused, 400, "input[1]")
    assert_still_serving(http)


# --- bad input: each a 4xx in the envelope, then the next good request works -----------------


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"input": []}, 400, "input"),
        ({"input": ["ok", 7]}, 400, "input[1]"),
        ({"input": 3.5}, 400, "input"),
        ({"input": ["x"] * (SESSION_MAX_INPUTS + 1)}, 400, "input"),
        ({"input": [[101, 10**6, 102]], "token_id_vocabulary": "model"}, 400, None),
        ({"input": [101, 30522, 102], "token_id_vocabulary": "model"}, 400, None),
        ({"input": [[101, 10**6, 102]]}, 400, "input[0]"),
        ({"input": [[9906], [100256]]}, 400, "input[1]"),
        ({"input": [[9906], "text"]}, 400, "input[1]"),
        ({"input": ["text", [9906]]}, 400, "input[1]"),
        ({"input": [9906], "token_id_vocabulary": "o200k_base"}, 400, "token_id_vocabulary"),
        ({"input": [[101, -5, 102]]}, 400, "input[0]"),
        ({"input": "x", "model": "no-such-model"}, 404, "model"),
        ({"input": "x", "model": "../../etc/passwd"}, 400, "model"),
        ({"input": "x", "model": "..%2F..%2Fx"}, 400, "model"),
        ({"input": "x", "model": None}, 400, "model"),
        ({"input": "x", "dimensions": 0}, 400, "dimensions"),
        ({"input": "x", "dimensions": 385}, 400, "dimensions"),
        ({"input": "x", "encoding_format": "int8"}, 400, "encoding_format"),
    ],
)
def test_bad_requests(http, body, status, param):
    assert_openai_error(post(http, **body), status, param)
    assert_still_serving(http)


@pytest.mark.parametrize("content", [b"{not json", b"", b"[]", b"null", b'{"model": "x"'])
def test_malformed_json(http, content):
    response = http.post(
        "/v1/embeddings", content=content, headers={"Content-Type": "application/json"}
    )
    assert_openai_error(response, 400)
    assert_still_serving(http)


def test_routing_errors_and_body_limit(http):
    assert_openai_error(http.get("/v1/no-such-route"), 404)
    assert_openai_error(http.get("/v1/embeddings"), 405)
    too_big = b'{"model": "x", "input": "' + b"a" * SESSION_MAX_REQUEST_BYTES + b'"}'
    assert_openai_error(
        http.post("/v1/embeddings", content=too_big, headers={"Content-Type": "application/json"}),
        413,
    )
    assert_still_serving(http)


def test_concurrent_requests_all_answered(minilm_url, reference_vectors):
    def one(i: int) -> list[float]:
        response = httpx.post(
            f"{minilm_url}/v1/embeddings",
            json={"model": MINILM, "input": TEXTS[i % len(TEXTS)], "encoding_format": "float"},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        return response.json()["data"][0]["embedding"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        vectors = list(pool.map(one, range(16)))
    expected = [reference_vectors[i % len(TEXTS)] for i in range(16)]
    assert cosines(vectors, expected).min() >= 0.9999
