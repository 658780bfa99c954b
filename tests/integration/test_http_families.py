"""The new families end to end: ``mlx-serve pull <dir>`` of tiny EmbeddingGemma, NomicBERT
and ModernBERT cross-encoder checkpoints (tools/tiny_families.py), a real server, raw httpx.

Vectors asked for with ``prompt_name`` / ``input_type`` / an alias binding a prompt equal
``SentenceTransformer.encode(prompt_name=...)`` (cosine >= 0.9999), rerank scores equal
``CrossEncoder.predict`` (|delta| <= 1e-4, same ranking), and a checkpoint of an
architecture we do not run is refused at pull naming the supported ones.
"""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from tests.support.ranking import assert_same_ranking
from tests.support.server import isolated_env, run_cli, start_mlx_serve
from tools import tiny_families

pytestmark = pytest.mark.slow

GEMMA, NOMIC, RERANKER = "embeddinggemma-tiny", "nomic-embed-tiny", "modernbert-reranker-tiny"
TEXTS = ["what is the capital of france?", "paris",
         "berlin is the capital of germany and paris the capital of france " * 3]
QUERY = "what is the capital of france?"
DOCUMENTS = ["paris is the capital of france", "bananas are yellow", "yes",
             "the capital of germany is berlin", "how fast is the server"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(httpx client, source checkpoints by served name)."""
    root = tmp_path_factory.mktemp("families-server")
    sources = {
        GEMMA: tiny_families.build_embeddinggemma(root / "embeddinggemma"),
        NOMIC: tiny_families.build_nomic_embed(root / "nomic-embed"),
        RERANKER: tiny_families.build_modernbert_reranker(root / "reranker", "mean"),
    }
    env = isolated_env(root, {"MLX_SERVE_DEVICE": "cpu"})
    for name, source in sources.items():
        pulled = run_cli(["pull", str(source), "--name", name], env)
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    (root / "mlx-serve" / "config.yaml").write_text(
        f"aliases:\n  gemma-query: {{model: {GEMMA}, prompt_name: query}}\n")
    server = start_mlx_serve(root, env=env)
    try:
        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            yield http, sources
    finally:
        assert server.stop() == 0, server.log_tail()


def reference_of(name: str, source):
    from sentence_transformers import SentenceTransformer

    from tools.nomic_bert_reference import sentence_transformer

    if name == NOMIC:
        return sentence_transformer(source)
    return SentenceTransformer(str(source), device="cpu",
                               model_kwargs={"attn_implementation": "eager"})


def embed(client, model: str, path: str = "/v1/embeddings", **body) -> np.ndarray:
    response = client.post(path, json={"model": model, "input": TEXTS, **body})
    assert response.status_code == 200, response.text
    data = response.json()
    rows = data["embeddings"] if path == "/api/embed" else [d["embedding"] for d in data["data"]]
    return np.asarray(rows, dtype=np.float64)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize("name", [GEMMA, NOMIC])
def test_every_way_of_asking_for_a_prompt_matches_sentence_transformers(setup, name):
    client, sources = setup
    reference = reference_of(name, sources[name])
    plain = reference.encode(TEXTS, batch_size=len(TEXTS))
    query = reference.encode(TEXTS, prompt_name="query", batch_size=len(TEXTS))
    document = reference.encode(TEXTS, prompt_name="document", batch_size=len(TEXTS))
    assert cosines(plain, query).min() < 0.999  # the prompt really moves the vectors
    cases = [
        (embed(client, name), plain),
        (embed(client, name, prompt_name="query"), query),
        (embed(client, name, input_type="query"), query),
        (embed(client, name, input_type="search_document"), document),
        (embed(client, name, "/api/embed", prompt_name="document"), document),
        (embed(client, name, "/api/embed", input_type="query"), query),
    ]
    for got, want in cases:
        assert got.shape == want.shape
        assert cosines(got, want).min() >= 0.9999


def test_an_alias_binds_embeddinggemmas_query_prompt(setup):
    client, sources = setup
    want = reference_of(GEMMA, sources[GEMMA]).encode(TEXTS, prompt_name="STS")
    assert cosines(embed(client, GEMMA, prompt_name="STS"), want).min() >= 0.9999
    query = embed(client, GEMMA, prompt_name="query")
    assert cosines(embed(client, "gemma-query"), query).min() >= 0.99999
    assert cosines(embed(client, "gemma-query", "/api/embed"), query).min() >= 0.99999


def test_dense_layers_set_the_served_width(setup):
    client, _sources = setup
    listed = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    assert GEMMA in listed
    assert embed(client, GEMMA).shape[1] == tiny_families.HIDDEN
    response = client.post("/v1/embeddings", json={"model": GEMMA, "input": TEXTS,
                                                   "dimensions": tiny_families.HIDDEN + 1})
    assert response.status_code == 400 and response.json()["error"]["param"] == "dimensions"


def test_unknown_prompt_is_a_400_naming_the_models_prompts(setup):
    client, _sources = setup
    response = client.post("/v1/embeddings",
                           json={"model": NOMIC, "input": TEXTS, "prompt_name": "nope"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "prompt_name"
    assert "classification, clustering, document, query" in error["message"]


def test_modernbert_cross_encoder_scores_match(setup):
    from sentence_transformers import CrossEncoder

    client, sources = setup
    response = client.post("/v1/rerank", json={"model": RERANKER, "query": QUERY,
                                               "documents": DOCUMENTS})
    assert response.status_code == 200, response.text
    served = [0.0] * len(DOCUMENTS)
    for result in response.json()["results"]:
        served[result["index"]] = result["relevance_score"]
    reference = CrossEncoder(str(sources[RERANKER]), device="cpu",
                             model_kwargs={"attn_implementation": "eager"})
    want = [float(s) for s in reference.predict([(QUERY, d) for d in DOCUMENTS])]
    assert max(abs(a - b) for a, b in zip(served, want, strict=True)) <= 1e-4
    assert_same_ranking(served, want, 1e-4)
    assert max(want) - min(want) > 0.05


def test_an_unsupported_architecture_is_refused_at_pull(setup, tmp_path):
    _client, sources = setup
    source = tmp_path / "deberta"
    source.mkdir()
    for file in sources[RERANKER].iterdir():
        if file.is_file():
            (source / file.name).write_bytes(file.read_bytes())
    config = json.loads((source / "config.json").read_text())
    config.update(model_type="deberta-v2", architectures=["DebertaV2ForSequenceClassification"])
    (source / "config.json").write_text(json.dumps(config))
    env = isolated_env(tmp_path)
    pulled = run_cli(["pull", str(source), "--name", "deberta"], env)
    assert pulled.returncode != 0
    output = pulled.stdout + pulled.stderr
    assert "deberta-v2" in output
    assert "gemma3_text" in output and "modernbert" in output and "nomic_bert" in output
    assert run_cli(["list"], env).stdout.count("deberta") == 0
