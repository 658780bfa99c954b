"""The sentence-transformers pipeline module on hand-written checkpoint folders (real MLX):
module order, Dense maths against numpy, what it refuses, which files it reads."""

from __future__ import annotations

import json
from pathlib import Path

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import mlx.core as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlx_serve.adapters.mlx.pipeline.st_pipeline import (  # noqa: E402
    module_files,
    read_pipeline,
    read_prompts,
)
from mlx_serve.domain.errors import UnsupportedModel  # noqa: E402

ST = "sentence_transformers.models."
TANH = "torch.nn.modules.activation.Tanh"


def write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def checkpoint(root: Path, modules: list[tuple[str, str]], *, pooling: dict | None = None,
               dense: dict[str, dict] | None = None) -> Path:
    write(root / "modules.json", [{"idx": i, "name": str(i), "path": path, "type": ST + kind}
                                  for i, (kind, path) in enumerate(modules)])
    write(root / "1_Pooling" / "config.json", pooling or {"pooling_mode_mean_tokens": True})
    rng = np.random.default_rng(0)
    for path, config in (dense or {}).items():
        write(root / path / "config.json", config)
        weights = {"linear.weight": mx.array(rng.normal(size=(config["out_features"],
                                                              config["in_features"])))}
        if config.get("bias"):
            weights["linear.bias"] = mx.array(rng.normal(size=(config["out_features"],)))
        mx.save_safetensors(str(root / path / "model.safetensors"),
                            {k: v.astype(mx.float32) for k, v in weights.items()})
    return root


def test_dense_then_normalize_in_declared_order(tmp_path):
    root = checkpoint(tmp_path, [("Transformer", ""), ("Pooling", "1_Pooling"),
                                 ("Dense", "2_Dense"), ("Normalize", "3_Normalize")],
                      pooling={"pooling_mode_cls_token": True},
                      dense={"2_Dense": {"in_features": 4, "out_features": 3, "bias": True,
                                         "activation_function": TANH}})
    pipeline = read_pipeline(root)
    assert pipeline.pooling == "cls" and pipeline.normalized and pipeline.dimensions(4) == 3
    states = np.arange(2 * 5 * 4, dtype=np.float32).reshape(2, 5, 4) / 40.0
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=np.int32)
    got = np.array(pipeline.vectors(mx.array(states), mx.array(mask)))
    weights = mx.load(str(root / "2_Dense" / "model.safetensors"))
    w, b = np.array(weights["linear.weight"]), np.array(weights["linear.bias"])
    want = np.tanh(states[:, 0] @ w.T + b)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert np.abs(got - want).max() < 1e-6
    assert module_files(root) == ["modules.json", "1_Pooling/config.json",
                                  "2_Dense/config.json", "2_Dense/model.safetensors"]


def test_without_modules_json_the_fallback_applies(tmp_path):
    assert read_pipeline(tmp_path).pooling == "mean"
    qwen = read_pipeline(tmp_path, default_pooling="lasttoken", default_normalize=True)
    assert qwen.pooling == "lasttoken" and qwen.normalized


@pytest.mark.parametrize(("modules", "pooling", "dense", "words"), [
    ([("Transformer", ""), ("LayerNorm", "2_LayerNorm")], None, None, "LayerNorm"),
    ([("Transformer", ""), ("Pooling", "1_Pooling")],
     {"pooling_mode_mean_tokens": True, "include_prompt": False}, None, "include_prompt"),
    ([("Transformer", ""), ("Pooling", "1_Pooling")],
     {"pooling_mode_weightedmean_tokens": True}, None, "weighted"),
    ([("Transformer", ""), ("Pooling", "1_Pooling"), ("Dense", "2_Dense")], None,
     {"2_Dense": {"in_features": 4, "out_features": 3,
                  "activation_function": "torch.nn.modules.activation.Softplus"}}, "Softplus"),
])
def test_what_cannot_be_run_is_refused_by_name(tmp_path, modules, pooling, dense, words):
    root = checkpoint(tmp_path, modules, pooling=pooling, dense=dense)
    with pytest.raises(UnsupportedModel, match=words):
        read_pipeline(root)


def test_dense_weights_only_in_pytorch_format_are_refused(tmp_path):
    root = checkpoint(tmp_path, [("Transformer", ""), ("Pooling", "1_Pooling"),
                                 ("Dense", "2_Dense")])
    write(root / "2_Dense" / "config.json", {"in_features": 4, "out_features": 3})
    (root / "2_Dense" / "pytorch_model.bin").write_bytes(b"\0")
    with pytest.raises(UnsupportedModel, match="pytorch_model.bin"):
        read_pipeline(root)


def test_prompts_and_a_default_that_names_none(tmp_path):
    write(tmp_path / "config_sentence_transformers.json",
          {"prompts": {"query": "q: "}, "default_prompt_name": "query"})
    assert read_prompts(tmp_path) == ({"query": "q: "}, "query")
    write(tmp_path / "config_sentence_transformers.json",
          {"prompts": {"query": "q: "}, "default_prompt_name": "passage"})
    assert read_prompts(tmp_path) == ({"query": "q: "}, None)
