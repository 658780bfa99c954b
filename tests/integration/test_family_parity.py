"""Each encoder family's MLX code against sentence-transformers (PyTorch CPU, float32).

Tiny random-weight checkpoints are built at test time from transformers' real config
classes with the real models' sentence-transformers files (tools/tiny_encoders.py), then
imported through MlxConverter as a local Hugging Face directory and served by
MlxEmbeddingEngine, exactly as ``mlx-serve pull ./dir`` and ``/v1/embeddings`` would.
"""

from __future__ import annotations

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlx_serve.adapters.mlx.convert.converter import MlxConverter  # noqa: E402
from mlx_serve.adapters.mlx.embedding.engine import MlxEmbeddingEngine  # noqa: E402
from mlx_serve.domain.inference import EmbedRequest  # noqa: E402
from mlx_serve.domain.models import ModelInfo  # noqa: E402
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint  # noqa: E402
from tools.tiny_encoders import ENCODERS, MAX_SEQ_LENGTH  # noqa: E402

pytestmark = pytest.mark.slow
TEXTS = [
    "a",
    "what is the capital of france?",
    "paris is the capital city of france. " * 20,  # far beyond MAX_SEQ_LENGTH tokens
    "yes no yes",
    "the machine learning model server returns a vector for each text",
    "berlin, germany: water, fire, apple and banana",
    "how fast is a good search?",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


# Families ONNX Runtime runs on the CPU by default (decision 0022): checked on MLX too.
ONNX_FAMILIES = ("bert", "xlm_roberta")


@pytest.fixture(scope="module", params=[(f, "auto") for f in sorted(ENCODERS)]
                + [(f, "mlx") for f in ONNX_FAMILIES], ids=lambda p: "-".join(p))
def served(request, compute, tmp_path_factory):
    """(family, source directory, loaded model) for each encoder family, on the default CPU
    engine and, for the families ONNX Runtime runs, on MLX as well."""
    family, cpu_engine = request.param
    _, _, build = ENCODERS[family]
    root = tmp_path_factory.mktemp(family)
    source = build(root / f"tiny-{family}")
    target = root / "converted"
    meta = compute.call(MlxConverter().convert,
                        FetchedCheckpoint(source, str(source), None), target,
                        ConversionOptions())
    assert meta["max_length"] == MAX_SEQ_LENGTH
    info = ModelInfo(name=family, source=str(source), size_bytes=0, created=0.0, path=target,
                     **meta)
    engine = MlxEmbeddingEngine(compute, max_batch_tokens=4096, dtype="float32", device="cpu",
                                cpu_engine=cpu_engine)
    model = engine.load_blocking(info)
    assert model._session.family == family
    # auto: ONNX Runtime for the families it has a graph for, MLX for the rest.
    on_onnx = cpu_engine == "auto" and family in ONNX_FAMILIES
    assert model._session.engine == ("onnxruntime" if on_onnx else "mlx")
    return family, source, model


def test_vectors_match_sentence_transformers(served):
    from sentence_transformers import SentenceTransformer

    family, source, model = served
    reference = SentenceTransformer(str(source), device="cpu").encode(TEXTS)
    result = model.embed_blocking(EmbedRequest(TEXTS))
    close = cosines(result.vectors, reference)
    assert close.min() >= 0.9999, (family, close)
    # The tiny model is input-sensitive enough for the comparison to mean something.
    assert cosines(result.vectors[:1], result.vectors[1:2])[0] < 0.95
    # The long text was cut at the model's maximum, as sentence-transformers cuts it.
    assert result.truncated_inputs == 1


def test_a_vector_does_not_depend_on_its_batch(served):
    _, _, model = served
    together = model.embed_blocking(EmbedRequest(TEXTS)).vectors
    alone = np.stack([model.embed_blocking(EmbedRequest([t])).vectors[0] for t in TEXTS])
    assert cosines(together, alone).min() >= 0.99999


# MLX's CPU activations only: the "auto" BERT and XLM-R fixtures run on ONNX Runtime.
@pytest.mark.not_for_params("bert-auto", "xlm_roberta-auto")
def test_fast_cpu_ops_agree_with_the_fused_kernels(served, compute):
    """The vectorised CPU activations (decision 0008) against MLX's exact kernels."""
    _, _, model = served
    session = model._session
    assert session.engine == "mlx"
    fast = model.embed_blocking(EmbedRequest(TEXTS)).vectors
    backbone = session.module.backbone
    was = backbone.fast_cpu_ops
    backbone.fast_cpu_ops = not was
    try:
        other = model.embed_blocking(EmbedRequest(TEXTS)).vectors
    finally:
        backbone.fast_cpu_ops = was
    assert cosines(fast, other).min() >= 0.99999


def test_half_precision_and_8_bit_conversions_stay_close(served, compute, tmp_path):
    """``--dtype float16 --quantize 8`` of each family's layout: loads, and stays close."""
    family, source, model = served
    meta = compute.call(MlxConverter().convert, FetchedCheckpoint(source, str(source), None),
                        tmp_path / "q8", ConversionOptions(dtype="float16", quantize_bits=8,
                                                           quantize_group_size=32))
    assert (meta["dtype"], meta["quantization"]) == ("float16", "8bit-g32")
    info = ModelInfo(name=f"{family}-q8", source=str(source), size_bytes=0, created=0.0,
                     path=tmp_path / "q8", **meta)
    engine = MlxEmbeddingEngine(compute, max_batch_tokens=4096, dtype="float32", device="cpu")
    quantized = engine.load_blocking(info)
    assert quantized.memory_bytes < model.memory_bytes
    close = cosines(quantized.embed_blocking(EmbedRequest(TEXTS)).vectors,
                    model.embed_blocking(EmbedRequest(TEXTS)).vectors)
    assert close.min() >= 0.99, (family, close)
