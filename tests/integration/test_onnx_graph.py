"""The ONNX graph (adapters/mlx/onnx) against the MLX model it was built from, op for op.

Random-weight BERT and XLM-RoBERTa models built in MLX, every activation the graph writes,
padded rows and token types: ONNX Runtime's hidden states must equal MLX's on real tokens.
"""

from __future__ import annotations

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import numpy as np  # noqa: E402
import pytest  # noqa: E402

CONFIG = {"hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 2,
          "intermediate_size": 64, "vocab_size": 300, "max_position_embeddings": 64,
          "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 1}


def build(family: str, act: str):
    import mlx.core as mx
    from mlx.utils import tree_flatten, tree_unflatten

    from mlx_serve.adapters.mlx.models import bert, xlm_roberta

    config = {**CONFIG, "hidden_act": act}
    model = (xlm_roberta if family == "xlm_roberta" else bert).Model(config)
    # Weights well away from zero, so every op (including layer norm's bias) matters.
    mx.random.seed(3)
    params = [(k, mx.random.normal(v.shape) * 0.2) for k, v in tree_flatten(model.parameters())]
    model.update(tree_unflatten(params))
    model.eval()
    return model, config


@pytest.mark.parametrize("act", ["gelu", "gelu_new", "relu"])
@pytest.mark.parametrize("family", ["bert", "xlm_roberta"])
def test_onnx_runtime_equals_mlx(compute, family, act):
    def run():
        import mlx.core as mx

        from mlx_serve.adapters.mlx.onnx.backbone import OnnxBackbone

        model, config = build(family, act)
        rng = np.random.default_rng(0)
        ids = rng.integers(2, CONFIG["vocab_size"], (3, 9)).astype(np.int32)
        mask = np.ones_like(ids)
        mask[1, 5:] = 0
        mask[2, 2:] = 0
        ids[mask == 0] = CONFIG["pad_token_id"]
        types = np.zeros_like(ids)
        types[0, 4:] = 1
        args = (mx.array(ids), mx.array(mask))
        kwargs = {"token_type_ids": mx.array(types)} if family == "bert" else {}
        expected = np.array(model(*args, **kwargs))
        onnx = OnnxBackbone(model, config, roberta_positions=family == "xlm_roberta",
                            threads=1)
        got = np.array(onnx(*args, **kwargs))
        return expected, got, mask.astype(bool)

    expected, got, real = compute.call(run)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got[real], expected[real], atol=2e-5, rtol=1e-4)


def test_a_token_id_past_the_embedding_table_is_a_clear_400(compute):
    """A tokenizer that disagrees with its weights: an InvalidRequest, never an IndexError."""
    from mlx_serve.domain.errors import InvalidRequest

    def run():
        import mlx.core as mx

        from mlx_serve.adapters.mlx.onnx.backbone import OnnxBackbone

        model, config = build("bert", "gelu")
        onnx = OnnxBackbone(model, config, roberta_positions=False, threads=1)
        ids = mx.array([[2, 5, CONFIG["vocab_size"]]], dtype=mx.int32)
        onnx(ids, mx.ones(ids.shape, dtype=mx.int32))

    with pytest.raises(InvalidRequest, match="outside the model's 300 embedding rows"):
        compute.call(run)


@pytest.mark.parametrize(("cpu_max", "cap"), [
    ("max 100000\n", None),  # no quota: the affinity
    ("150000 100000\n", 2),  # 1.5 CPUs: 2 threads
    ("50000 100000\n", 1),
    ("garbage", None),
])
def test_threads_follow_the_affinity_capped_by_a_cgroup_quota(tmp_path, cpu_max, cap):
    import os

    from mlx_serve.adapters.mlx.onnx.backbone import cpu_threads

    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count()
    assert cpu_threads(path) == (cores if cap is None else min(cores, cap))
    assert cpu_threads(tmp_path / "missing") == cores
