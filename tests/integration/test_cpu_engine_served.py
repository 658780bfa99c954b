"""A real server with MLX_SERVE_CPU_ENGINE=onnxruntime serves all-MiniLM-L6-v2 through ONNX
Runtime, and the OpenAI client gets sentence-transformers' vectors (decision 0022)."""

from __future__ import annotations

import httpx
import numpy as np
import openai
import pytest

from tests.conftest import MINILM
from tests.support.server import install_minilm, isolated_env, start_mlx_serve
from tools.bench_embeddings import make_texts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx-server")
    env = isolated_env(root, {"MLX_SERVE_CPU_ENGINE": "onnxruntime", "MLX_SERVE_DEVICE": "cpu",
                              "MLX_SERVE_LOG_LEVEL": "INFO"})
    install_minilm(env, MINILM)
    process = start_mlx_serve(root, env=env)
    yield process
    assert process.stop() == 0, process.log_tail()


def test_served_vectors_match_sentence_transformers(server, minilm_reference):
    texts = make_texts(40, seed=5)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused")
    result = client.embeddings.create(model=MINILM, input=texts)
    vectors = np.array([item.embedding for item in result.data], dtype=np.float64)
    expected = minilm_reference.encode(texts).astype(np.float64)
    cosine = (vectors * expected).sum(1) / np.linalg.norm(vectors, axis=1) \
        / np.linalg.norm(expected, axis=1)
    assert cosine.min() >= 0.99999
    np.testing.assert_allclose(vectors, expected, atol=2e-5)
    # The model really ran on ONNX Runtime (the load line names the engine).
    assert f"loaded {MINILM} (bert, mlx.core.float32, onnxruntime" in server.log_tail(20000)


def test_health_and_ps_name_the_engine(server):
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused")
    client.embeddings.create(model=MINILM, input="load it")
    health = httpx.get(f"{server.base_url}/health", timeout=30).json()
    assert [(m["name"], m["engine"]) for m in health["models"]] == [(MINILM, "onnxruntime")]
    ps = httpx.get(f"{server.base_url}/api/ps", timeout=30).json()["models"]
    assert [(m["name"], m["engine"]) for m in ps] == [(MINILM, "onnxruntime")]
