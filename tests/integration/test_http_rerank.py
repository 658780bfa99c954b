"""Reranking over a real socket: a real server (``mlx-serve start``) with tiny rerankers pulled
from disk with the CLI, driven with raw httpx (Jina shapes) and the cohere SDK (v2).
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.ranking import assert_ordered_by_contract
from tests.support.server import install_minilm, isolated_env, run_cli, start_mlx_serve

pytestmark = pytest.mark.slow

QWEN = "tiny-qwen3-reranker"
BERT = "tiny-cross-encoder"
MINILM = "all-MiniLM-L6-v2"
MAX_DOCUMENTS = 200
QUERY = "what is the capital of france"
DOCS = [
    "paris is the capital of france",
    {"text": "the quick brown fox jumps over the lazy dog"},
    "no",
    {"text": "a web search query retrieves relevant passages " * 30},
]
TEXTS = [d if isinstance(d, str) else d["text"] for d in DOCS]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    from tests.integration import tiny_rerankers as tiny

    root = tmp_path_factory.mktemp("rerank-checkpoints")
    return {
        QWEN: tiny.build_qwen3_reranker(root / "Qwen3-Reranker-tiny"),
        BERT: tiny.build_bert_cross_encoder(root / "bert-cross-encoder-tiny"),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory, checkpoints):
    root = tmp_path_factory.mktemp("rerank-server")
    env = isolated_env(root, {"MLX_SERVE_MAX_DOCUMENTS": str(MAX_DOCUMENTS)})
    # The Qwen3 model is imported with an explicit type; the BERT cross-encoder's type is
    # inferred from its architecture (BertForSequenceClassification).
    for name, type_args in ((QWEN, ["--type", "reranker"]), (BERT, [])):
        pulled = run_cli(["pull", str(checkpoints[name]), *type_args, "--name", name], env)
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    install_minilm(env, MINILM)
    process = start_mlx_serve(root, env=env)
    yield process
    assert process.stop() == 0, process.log_tail()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.base_url, timeout=120) as http:
        yield http


def rerank(client, path="/v1/rerank", **body):
    return client.post(path, json={"model": QWEN, "query": QUERY, "documents": DOCS, **body})


def assert_sorted(results):
    assert_ordered_by_contract(results)
    assert all(0.0 <= r["relevance_score"] <= 1.0 for r in results)


def test_jina_every_field(client, checkpoints):
    from tools.rerank_reference import Qwen3RerankerReference

    instruction = "Judge whether the passage names a city"
    response = rerank(
        client,
        top_n=3,
        return_documents=True,
        return_text=True,
        decision_threshold=0.3,
        instruction=instruction,
        max_tokens_per_doc=6,
        user="someone",  # unknown fields are ignored
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == QWEN and body["object"] == "list"
    assert len(body["results"]) == 3
    assert_sorted(body["results"])
    for result in body["results"]:
        assert set(result) == {"index", "relevance_score", "document", "text_output"}
        assert result["document"] == {"text": TEXTS[result["index"]]}
        assert result["text_output"] == ("yes" if result["relevance_score"] >= 0.3 else "no")
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0
    # The served scores are the reference recipe's, on the cut documents.
    reference = Qwen3RerankerReference(checkpoints[QWEN])
    cut = []
    for text in TEXTS:
        offsets = reference.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)[
            "offset_mapping"
        ]
        cut.append(text if len(offsets) <= 6 else text[: offsets[5][1]])
    assert response.headers["X-Truncated-Documents"] == str(
        sum(a != b for a, b in zip(cut, TEXTS, strict=True))
    )
    expected = reference.score(QUERY, cut, instruction)
    for result in body["results"]:
        assert abs(result["relevance_score"] - expected[result["index"]]) <= 1e-4


def test_jina_defaults_and_the_infinity_route(client):
    first = rerank(client)
    second = rerank(client, path="/rerank", return_documents=True)
    assert first.status_code == second.status_code == 200
    results = first.json()["results"]
    assert len(results) == len(DOCS)  # top_n defaults to all
    assert all(set(r) == {"index", "relevance_score", "document"} for r in results)
    # /rerank speaks infinity's dialect: the same ranking, documents as plain strings.
    assert second.json()["object"] == "rerank"
    assert [{**r, "document": {"text": r["document"]}} for r in second.json()["results"]] == (
        results
    )
    # Only the 300-word document is longer than the model accepts.
    assert first.headers["X-Truncated-Documents"] == "1"
    few = rerank(client, top_n=50, return_documents=False).json()["results"]
    assert len(few) == len(DOCS) and all("document" not in r for r in few)
    assert [r["index"] for r in few] == [r["index"] for r in results]


def test_cross_encoder_over_http(client):
    response = rerank(client, model=BERT)
    assert response.status_code == 200, response.text
    assert_sorted(response.json()["results"])
    # The 300-word document is cut to the model's maximum.
    assert response.headers["X-Truncated-Documents"] == "1"


def test_cohere_sdk_v2(server):
    import cohere

    co = cohere.ClientV2(base_url=server.base_url, api_key="x")
    response = co.rerank(model=QWEN, query=QUERY, documents=TEXTS, top_n=2)
    assert response.id
    assert len(response.results) == 2
    scores = [r.relevance_score for r in response.results]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert response.meta.api_version.version == "2"
    assert response.meta.billed_units.search_units == 1
    assert all(getattr(r, "document", None) is None for r in response.results)


def test_cohere_shape_and_documents_on_request(client):
    plain = rerank(client, path="/v2/rerank", documents=TEXTS)
    assert plain.status_code == 200, plain.text
    body = plain.json()
    assert set(body) == {"id", "results", "meta"}
    assert all(set(r) == {"index", "relevance_score"} for r in body["results"])
    asked = rerank(client, path="/v2/rerank", documents=TEXTS, return_documents=True).json()
    assert all(r["document"] == {"text": TEXTS[r["index"]]} for r in asked["results"])


BAD = [
    ({"documents": []}, 400, "documents"),
    ({"query": ""}, 400, "query"),
    ({"query": None}, 400, "query"),
    ({"documents": ["a", 3]}, 400, "documents[1]"),
    ({"documents": ["a", {"txt": "b"}]}, 400, "documents[1]"),
    ({"documents": "just a string"}, 400, "documents"),
    ({"top_n": 0}, 400, "top_n"),
    ({"top_n": -2}, 400, "top_n"),
    ({"decision_threshold": 1.5}, 400, "decision_threshold"),
    ({"decision_threshold": -0.1}, 400, "decision_threshold"),
    ({"decision_threshold": 10**400}, 400, "decision_threshold"),
    ({"instruction": "judge " * 200_000}, 400, "instruction"),
    ({"max_tokens_per_doc": 0}, 400, "max_tokens_per_doc"),
    ({"documents": ["doc"] * 3000}, 400, "documents"),
    ({"model": "no-such-model"}, 404, "model"),
    ({"model": "../etc"}, 400, "model"),
    ({"model": MINILM}, 400, "model"),
]


# Cohere's v2 and infinity's APIs have no decision_threshold: those run on the Jina path only.
CASES = [("/v1/rerank", *case) for case in BAD] + [
    (path, *case)
    for path in ("/v2/rerank", "/rerank")
    for case in BAD
    if "decision_threshold" not in case[0]
]


@pytest.mark.parametrize(("path", "change", "status", "param"), CASES)
def test_bad_input_is_a_clear_4xx_and_the_server_goes_on(client, path, change, status, param):
    response = rerank(client, path=path, **change)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["message"]
    if change.get("model") == MINILM:
        assert "embedding" in error["message"]
    assert rerank(client, path=path, documents=["paris"]).status_code == 200


def test_a_reranker_cannot_embed(client):
    response = client.post("/v1/embeddings", json={"model": QWEN, "input": "paris"})
    assert response.status_code == 400
    assert "reranker" in response.json()["error"]["message"]


def test_models_and_list_show_each_type(client, server):
    types = {m["id"]: m["type"] for m in client.get("/v1/models").json()["data"]}
    assert types == {QWEN: "reranker", BERT: "reranker", MINILM: "embedding"}
    listed = run_cli(["list"], server.env)
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
    assert "reranker" in lines[QWEN] and "embedding" in lines[MINILM]


def test_a_10_mb_document_is_cut_not_refused(client):
    huge = "paris " * (10 * 2**20 // 6)
    response = rerank(client, documents=[huge, "paris"], return_documents=False)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["X-Truncated-Documents"] == "1"
    assert len(response.json()["results"]) == 2
