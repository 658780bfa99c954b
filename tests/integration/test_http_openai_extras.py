"""The session server (all-MiniLM-L6-v2): empty strings, un-prefixed routes, exact floats.

Empty strings are embedded (special tokens only) on every embeddings route, as
sentence-transformers does; ``/embeddings`` and ``/models`` answer like their ``/v1`` twins;
float JSON reads back to exactly the float32 values base64 carries.
"""

from __future__ import annotations

import base64

import httpx
import numpy as np
import pytest

from tests.conftest import MINILM

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def http(minilm_url):
    with httpx.Client(base_url=minilm_url, timeout=120) as client:
        yield client


def cosines(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_empty_strings_are_embedded_like_sentence_transformers(http, minilm_reference):
    texts = ["ok", "", "a chunk"]
    expected = minilm_reference.encode(texts, normalize_embeddings=True)
    response = http.post("/v1/embeddings", json={"model": MINILM, "input": texts})
    assert response.status_code == 200, response.text
    body = response.json()
    assert cosines([d["embedding"] for d in body["data"]], expected).min() >= 0.9999
    single = http.post("/v1/embeddings", json={"model": MINILM, "input": ""}).json()
    assert cosines(single["data"][0]["embedding"], expected[1]) >= 0.9999
    assert single["usage"]["prompt_tokens"] == 2  # [CLS] [SEP]
    ollama = http.post("/api/embed", json={"model": MINILM, "input": ["", "ok"]})
    assert ollama.status_code == 200, ollama.text
    assert cosines(ollama.json()["embeddings"], expected[[1, 0]]).min() >= 0.9999
    assert http.post("/v1/embeddings", json={"model": MINILM, "input": []}).status_code == 400


def test_unprefixed_routes_answer_like_v1(http):
    body = {"model": MINILM, "input": ["Hello world", "second"]}
    root = http.post("/embeddings", json=body).json()
    v1 = http.post("/v1/embeddings", json=body).json()
    assert [d["embedding"] for d in root["data"]] == [d["embedding"] for d in v1["data"]]
    assert root["id"] != v1["id"] and root["id"].startswith("embd-")
    assert http.get("/models").json() == http.get("/v1/models").json()


def test_float_json_reads_back_to_the_base64_float32_values(http):
    body = {"model": MINILM, "input": ["exact floats", "another text"]}
    floats = http.post("/v1/embeddings", json={**body, "encoding_format": "float"}).json()
    encoded = http.post("/v1/embeddings", json={**body, "encoding_format": "base64"}).json()
    for as_float, as_base64 in zip(floats["data"], encoded["data"], strict=True):
        exact = np.frombuffer(base64.b64decode(as_base64["embedding"]), dtype="<f4")
        assert np.array_equal(np.asarray(as_float["embedding"], dtype=np.float32), exact)


def test_truncate_prompt_tokens_keeps_the_last_tokens_like_a_left_truncating_tokenizer(
    http, minilm_reference
):
    texts = [
        "the beginning is cut away, but the end of this rather long sentence stays " * 3,
        "short text",
    ]
    keep = 12
    tokenizer = minilm_reference.tokenizer
    side, length = tokenizer.truncation_side, minilm_reference.max_seq_length
    try:  # sentence-transformers with Hugging Face's left truncation: the reference
        tokenizer.truncation_side = "left"
        minilm_reference.max_seq_length = keep
        expected = minilm_reference.encode(texts, normalize_embeddings=True)
    finally:
        tokenizer.truncation_side, minilm_reference.max_seq_length = side, length
    body = {"model": MINILM, "input": texts, "truncate_prompt_tokens": keep}
    response = http.post("/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert cosines([d["embedding"] for d in data["data"]], expected).min() >= 0.9999
    assert response.headers["X-Truncated-Inputs"] == "1"
    assert data["usage"]["prompt_tokens"] == keep + len(tokenizer(texts[1])["input_ids"])
    untouched = http.post("/v1/embeddings", json={**body, "truncate_prompt_tokens": -1})
    assert untouched.headers["X-Truncated-Inputs"] == "0"
    refused = http.post("/v1/embeddings", json={**body, "truncate_prompt_tokens": 0})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "truncate_prompt_tokens"
