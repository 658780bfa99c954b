"""The compiled forward pass (runtime/compiled.py) against the op-by-op one, per family.

The GPU path embeds through ``mx.compile``d passes over bucketed shapes; CI has no GPU, so
this runs the same session code on the CPU with the GPU path's choices forced (bucketed
shapes, compiled pass, MLX's exact kernels as on a GPU) and compares its vectors with the
plain CPU path's, on tiny random-weight checkpoints of every embedding family. Mixed lengths
and row counts cover several bucketed shapes, duplicate filler rows and left padding (Qwen3).
"""

from __future__ import annotations

from pathlib import Path

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlx_serve.adapters.mlx.convert.converter import MlxConverter  # noqa: E402
from mlx_serve.adapters.mlx.embedding.session import EmbeddingSession  # noqa: E402
from mlx_serve.adapters.mlx.runtime.compiled import compiled_forward  # noqa: E402
from mlx_serve.adapters.mlx.runtime.placement import Runtime  # noqa: E402
from mlx_serve.domain.inference import EmbedRequest  # noqa: E402
from mlx_serve.domain.models import ModelType  # noqa: E402
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint  # noqa: E402
from tools import tiny_checkpoints, tiny_encoders, tiny_families  # noqa: E402

pytestmark = pytest.mark.slow
BUILDERS = {
    "bert": tiny_encoders.build_bert_cls,
    "xlm_roberta": tiny_encoders.build_xlm_roberta,
    "mpnet": tiny_encoders.build_mpnet,
    "qwen3": tiny_checkpoints.build_qwen3_embedding,
    "modernbert": tiny_families.build_gte_modernbert,
    "embeddinggemma": tiny_families.build_embeddinggemma,
    "nomic": tiny_families.build_nomic_embed,
}
TEXTS = ["a", "what is the capital of france?", "machine learning is fast",
         "paris is the capital of france, berlin is the capital of germany. " * 3,
         "the good model server", "water fire water fire apple banana yes no"]


def converted(builder, tmp: Path) -> Path:
    source = builder(tmp / "source")
    target = tmp / "model"
    MlxConverter().convert(FetchedCheckpoint(source, source.name, None), target,
                           ConversionOptions(model_type=ModelType.EMBEDDING))
    return target


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def sessions(request, tmp_path_factory):
    """(plain CPU session, the same model on the GPU path's compiled, bucketed pass)."""
    directory = converted(BUILDERS[request.param], tmp_path_factory.mktemp(request.param))
    # The GPU path always runs MLX (ONNX Runtime is a CPU engine: decision 22).
    runtime = Runtime(device="cpu", fast_cpu_ops=False, cpu_engine="mlx")
    # 32: within every tiny checkpoint's position table (the long text is truncated).
    plain = EmbeddingSession(directory, 32, runtime)
    gpu_path = EmbeddingSession(directory, 32, runtime)
    gpu_path.bucketed = True
    gpu_path.compiled = compiled_forward(gpu_path.module.backbone, gpu_path.pipeline,
                                         gpu_path.left_padded)
    return plain, gpu_path


@pytest.mark.parametrize("count", [1, 3, 6])
def test_compiled_pass_matches_the_plain_pass(sessions, count):
    plain, gpu_path = sessions
    request = EmbedRequest(inputs=TEXTS[:count])
    expected = plain.embed(request).vectors
    got = gpu_path.embed(request).vectors
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=2e-5, rtol=1e-4)


def test_repeated_shapes_reuse_the_trace_and_stay_identical(sessions):
    _, gpu_path = sessions
    request = EmbedRequest(inputs=TEXTS)
    first = gpu_path.embed(request).vectors
    again = gpu_path.embed(request).vectors
    np.testing.assert_array_equal(first, again)


def test_dropping_a_session_frees_its_weights_and_traces(tmp_path):
    """An unloaded model's compiled traces must not keep its weights alive (MLX caches
    traces per compiled function; they go with the function)."""
    import gc

    import mlx.core as mx

    directory = converted(tiny_checkpoints.build_qwen3_embedding, tmp_path)
    gc.collect()
    before = mx.get_active_memory()
    session = EmbeddingSession(directory, 32, Runtime(device="cpu", fast_cpu_ops=False))
    session.bucketed = True
    session.compiled = compiled_forward(session.module.backbone, session.pipeline,
                                        session.left_padded)
    session.embed(EmbedRequest(inputs=TEXTS))
    loaded = mx.get_active_memory() - before
    assert loaded > 0
    del session
    gc.collect()
    assert mx.get_active_memory() - before < loaded / 100
