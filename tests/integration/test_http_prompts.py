"""Prompts over a real socket: a real server with a tiny Qwen3 embedding model (whose
config_sentence_transformers.json declares ``query`` and ``document`` prompts, as the real
one does) and all-MiniLM-L6-v2 (no prompts), an alias binding the query prompt in
config.yaml; raw httpx against /v1/embeddings and /api/embed.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.support.server import install_minilm, isolated_env, run_cli, start_mlx_serve
from tools.tiny_checkpoints import build_qwen3_embedding

pytestmark = pytest.mark.slow

QWEN = "qwen3-embedding-tiny"
MINILM = "all-MiniLM-L6-v2"
TASK = "Given a web search query, retrieve relevant passages that answer the query"
TEXTS = ["what is the capital of france?", "paris"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("prompts-server")
    checkpoint = build_qwen3_embedding(root / "Qwen3-Embedding-tiny")
    env = isolated_env(root)
    pulled = run_cli(["pull", str(checkpoint), "--name", QWEN], env)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    install_minilm(env, MINILM)
    (root / "mlx-serve" / "config.yaml").write_text(
        f"aliases:\n  qwen-query: {{model: {QWEN}, prompt_name: query}}\n")
    server = start_mlx_serve(root, env=env)
    try:
        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            yield http
    finally:
        assert server.stop() == 0, server.log_tail()


def embed(client, path="/v1/embeddings", **body) -> np.ndarray:
    response = client.post(path, json={"model": QWEN, "input": TEXTS, **body})
    assert response.status_code == 200, response.text
    data = response.json()
    rows = data["embeddings"] if path == "/api/embed" else [d["embedding"] for d in data["data"]]
    return np.asarray(rows, dtype=np.float64)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.abs(a - b).max() <= 1e-5)


def test_query_prompt_by_every_route_equals_the_recipe(client):
    """The checkpoint's query prompt is Qwen3's instruction template with the default task,
    so every way of asking for it gives the instruction's vectors."""
    recipe = embed(client, instruction=TASK)
    assert not same(recipe, embed(client))  # the prompt really changes the vectors
    assert same(recipe, embed(client, input_type="query"))
    assert same(recipe, embed(client, prompt_name="query"))
    assert same(recipe, embed(client, model="qwen-query"))
    assert same(recipe, embed(client, "/api/embed", input_type="query"))
    assert same(recipe, embed(client, "/api/embed", model="QWEN-QUERY"))


def test_document_prompt_is_the_plain_text(client):
    assert same(embed(client), embed(client, input_type="document"))
    assert same(embed(client), embed(client, model="qwen-query", input_type="document"))


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"prompt_name": "nope"}, "prompt_name", ["'nope'", "document, query"]),
    ({"input_type": "classification"}, "input_type", ["input_type must be"]),
    ({"prompt_name": "query", "instruction": TASK}, "prompt_name", ["either"]),
    ({"model": MINILM, "input_type": "query"}, "input_type", ["no prompts"]),
    ({"model": MINILM, "prompt_name": "query"}, "prompt_name", ["no prompts"]),
    ({"prompt_name": 7}, "prompt_name", []),
])
def test_bad_prompts_are_400_naming_the_problem(client, body, param, words):
    response = client.post("/v1/embeddings", json={"model": QWEN, "input": TEXTS, **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    for word in words:
        assert word in error["message"]
    if "instruction" not in body:  # /api/embed has no instruction field
        ollama = client.post("/api/embed", json={"model": QWEN, "input": TEXTS, **body})
        assert ollama.status_code == 400 and ollama.json()["error"]
