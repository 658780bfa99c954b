"""Rerank clients, unchanged, against a real server holding one tiny cross-encoder.

Each client's ranking (and scores) must equal what ``/v1/rerank`` answers for the same query
and documents: langchain-cohere, LlamaIndex's JinaRerank, Haystack's TEI ranker, litellm's
cohere/, jina_ai/ and infinity/ providers, and vLLM's ``/score`` shape. The score and TEI
routes get the same battery of malformed bodies as ``/v1/rerank``: 4xx, never 5xx; Jina's
clients see the server's message (``detail``).
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.server import isolated_env, run_cli, start_mlx_serve

pytestmark = pytest.mark.slow

MODEL = "tiny-cross-encoder"
QUERY = "what is the capital of france"
DOCS = [
    "paris is the capital of france",
    "the quick brown fox jumps over the lazy dog",
    "berlin is the capital of germany",
    "france is a country in europe",
    "no",
    "capital cities of europe: paris, berlin, rome",
]
SCORE_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.integration import tiny_rerankers as tiny

    root = tmp_path_factory.mktemp("rerank-clients")
    checkpoint = tiny.build_bert_cross_encoder(root / "bert-cross-encoder-tiny")
    env = isolated_env(root)
    pulled = run_cli(["pull", str(checkpoint), "--name", MODEL], env)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    process = start_mlx_serve(root, env=env)
    with pytest.MonkeyPatch.context() as patch:
        # litellm uses its bundled price map; Haystack sends no telemetry.
        patch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        patch.setenv("HAYSTACK_TELEMETRY_ENABLED", "False")
        yield process
    assert process.stop() == 0, process.log_tail()


@pytest.fixture(scope="module")
def url(server):
    return server.base_url


@pytest.fixture(scope="module")
def http(url):
    with httpx.Client(base_url=url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def reference(http) -> list[tuple[int, float]]:
    """(index, relevance_score) from /v1/rerank, best first."""
    response = http.post(
        "/v1/rerank",
        json={"model": MODEL, "query": QUERY, "documents": DOCS, "return_documents": False},
    )
    assert response.status_code == 200, response.text
    return [(r["index"], r["relevance_score"]) for r in response.json()["results"]]


def assert_same_ranking(got: list[tuple[int, float]], reference, top_n=None) -> None:
    expected = reference[:top_n] if top_n else reference
    assert [index for index, _ in got] == [index for index, _ in expected]
    for (_, score), (_, want) in zip(got, expected, strict=True):
        assert abs(score - want) <= SCORE_TOLERANCE


def test_langchain_cohere_rerank(url, reference):
    from langchain_cohere import CohereRerank

    reranker = CohereRerank(model=MODEL, base_url=url, cohere_api_key="unused", top_n=3)
    results = reranker.rerank(DOCS, QUERY)
    assert_same_ranking([(r["index"], r["relevance_score"]) for r in results], reference, 3)


def test_llamaindex_jina_rerank(url, reference):
    from llama_index.core.schema import NodeWithScore, TextNode
    from llama_index.postprocessor.jinaai_rerank import JinaRerank

    nodes = [NodeWithScore(node=TextNode(text=text, id_=str(i))) for i, text in enumerate(DOCS)]
    reranker = JinaRerank(api_key="unused", model=MODEL, base_url=f"{url}/v1", top_n=4)
    ranked = reranker.postprocess_nodes(nodes, query_str=QUERY)
    assert_same_ranking([(int(n.node.node_id), n.score) for n in ranked], reference, 4)


def test_llamaindex_jina_rerank_shows_the_servers_message(url):
    from llama_index.core.schema import NodeWithScore, TextNode
    from llama_index.postprocessor.jinaai_rerank import JinaRerank

    nodes = [NodeWithScore(node=TextNode(text="a document"))]
    reranker = JinaRerank(api_key="unused", model="no-such-model", base_url=f"{url}/v1")
    with pytest.raises(Exception, match="no-such-model") as err:
        reranker.postprocess_nodes(nodes, query_str=QUERY)
    assert not isinstance(err.value, KeyError)


def test_haystack_tei_ranker(url, reference):
    from haystack import Document
    from haystack_integrations.components.rankers.huggingface_api import HuggingFaceTEIRanker

    documents = [Document(content=text, id=str(i)) for i, text in enumerate(DOCS)]
    ranker = HuggingFaceTEIRanker(url=url, top_k=len(DOCS), token=None)
    ranked = ranker.run(query=QUERY, documents=documents)["documents"]
    assert_same_ranking([(int(d.id), d.score) for d in ranked], reference)


@pytest.mark.parametrize(("provider", "path"), [("cohere", ""), ("jina_ai", ""), ("infinity", "")])
def test_litellm_rerank_providers(url, reference, provider, path):
    import litellm

    response = litellm.rerank(
        model=f"{provider}/{MODEL}",
        query=QUERY,
        documents=DOCS,
        top_n=5,
        api_base=f"{url}{path}",
        api_key="unused",
    )
    got = [(r["index"], r["relevance_score"]) for r in response.results]
    assert_same_ranking(got, reference, 5)
    for result in response.results:
        document = result.get("document")
        if document is not None:  # returned documents carry their own text
            assert document["text"] == DOCS[result["index"]]


def test_infinity_shape(http, reference):
    body = {"query": QUERY, "documents": DOCS, "return_documents": True, "model": MODEL}
    response = http.post("/rerank", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["object"] == "rerank" and data["model"] == MODEL
    assert {"id", "created", "usage"} <= set(data)
    got = [(r["index"], r["relevance_score"]) for r in data["results"]]
    assert_same_ranking(got, reference)
    assert all(r["document"] == DOCS[r["index"]] for r in data["results"])
    plain = http.post("/rerank", json={**body, "return_documents": False}).json()
    assert all("document" not in r for r in plain["results"])


def test_tei_shape_needs_no_model(http, reference):
    response = http.post("/rerank", json={"query": QUERY, "texts": DOCS, "return_text": True})
    assert response.status_code == 200, response.text
    ranks = response.json()
    assert isinstance(ranks, list)
    assert_same_ranking([(r["index"], r["score"]) for r in ranks], reference)
    assert all(r["text"] == DOCS[r["index"]] for r in ranks)


def test_vllm_score(http, reference):
    by_index = dict(reference)
    for path in ("/score", "/v1/score"):
        response = http.post(path, json={"model": MODEL, "text_1": QUERY, "text_2": DOCS})
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["object"] == "list" and data["id"].startswith("score-")
        assert [d["index"] for d in data["data"]] == list(range(len(DOCS)))
        for item in data["data"]:
            assert abs(item["score"] - by_index[item["index"]]) <= SCORE_TOLERANCE
    # One query per document: the same pairs, scored the same.
    paired = http.post("/score", json={"text_1": [QUERY] * len(DOCS), "text_2": DOCS}).json()
    assert [abs(d["score"] - by_index[d["index"]]) <= SCORE_TOLERANCE for d in paired["data"]] \
        == [True] * len(DOCS)


BAD_SCORE_BODIES = [
    {},
    {"text_1": QUERY},
    {"text_2": DOCS},
    {"text_1": "", "text_2": DOCS},
    {"text_1": QUERY, "text_2": []},
    {"text_1": QUERY, "text_2": [1, 2]},
    {"text_1": [QUERY, QUERY], "text_2": DOCS},
    {"text_1": [], "text_2": DOCS},
    {"text_1": 5, "text_2": DOCS},
    {"text_1": QUERY, "text_2": DOCS, "model": "no-such-model"},
    {"text_1": QUERY, "text_2": DOCS, "model": "../etc"},
    {"text_1": QUERY, "text_2": DOCS, "model": 7},
    {"text_1": QUERY, "text_2": DOCS, "truncate_prompt_tokens": 0},
    {"text_1": QUERY, "text_2": DOCS, "truncate_prompt_tokens": "10"},
    {"text_1": QUERY, "text_2": [None]},
]
BAD_TEI_BODIES = [
    {"texts": DOCS},
    {"query": QUERY, "texts": []},
    {"query": QUERY, "texts": "a document"},
    {"query": QUERY, "texts": [1]},
    {"query": "", "texts": DOCS},
    {"query": 3, "texts": DOCS},
    {"query": QUERY, "texts": DOCS, "raw_scores": "yes"},
    {"query": QUERY, "texts": DOCS, "return_text": 1},
    {"query": QUERY, "texts": DOCS, "model": "no-such-model"},
    {"query": QUERY, "texts": ["x"] * 5000},
]
BAD_INFINITY_BODIES = [
    {"documents": DOCS},
    {"query": QUERY, "documents": []},
    {"query": QUERY, "documents": [{"text": 1}]},
    {"query": QUERY, "documents": DOCS, "top_n": 0},
    {"query": QUERY, "documents": DOCS, "return_documents": "no"},
]


@pytest.mark.parametrize(
    ("path", "body"),
    [("/score", b) for b in BAD_SCORE_BODIES]
    + [("/rerank", b) for b in BAD_TEI_BODIES + BAD_INFINITY_BODIES],
)
def test_malformed_bodies_get_a_4xx_with_detail(http, path, body):
    response = http.post(path, json=body)
    assert 400 <= response.status_code < 500, response.text
    data = response.json()
    assert data["error"]["message"] and data["detail"] == data["error"]["message"]


@pytest.mark.parametrize("content", [b"", b"{bad", b"[]", b"null", b'"text"'])
@pytest.mark.parametrize("path", ["/score", "/v1/score", "/rerank"])
def test_malformed_json(http, path, content):
    response = http.post(path, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
