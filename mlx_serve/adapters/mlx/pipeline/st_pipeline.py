"""The sentence-transformers pipeline a checkpoint declares, around its Transformer module.

``modules.json`` lists the modules in order: Transformer, then Pooling (cls / mean / max /
lasttoken, from its ``config.json``), then any number of Dense layers (weights in the
module's folder, activation named in its ``config.json``; EmbeddingGemma has two) and
Normalize, in the order they appear. ``sentence_bert_config.json`` gives
``max_seq_length``; ``config_sentence_transformers.json`` the ``prompts`` and
``default_prompt_name`` that ``SentenceTransformer.encode(prompt_name=...)`` prepends to
every text.

``read_pipeline`` loads Dense weights with MLX: call it on the thread that runs the model.
``module_files`` needs no MLX (the converter copies those files).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlx.core as mx

from mlx_serve.adapters.mlx.convert.checkpoint import Pooling, pooling_mode, read_json
from mlx_serve.adapters.mlx.models.registry import Family
from mlx_serve.adapters.mlx.pipeline.pooling import normalize, pool
from mlx_serve.domain.errors import UnsupportedModel

MODULE_KINDS = ("Transformer", "Pooling", "Dense", "Normalize")
# torch activation classes sentence-transformers' Dense names, by their last component.
DENSE_ACTIVATIONS = {
    "Identity": lambda x: x,
    "Tanh": mx.tanh,
    "Sigmoid": mx.sigmoid,
    "ReLU": lambda x: mx.maximum(x, 0.0),
    "GELU": lambda x: 0.5 * x * (1.0 + mx.erf(x / 2**0.5)),
    "SiLU": lambda x: x * mx.sigmoid(x),
}


@dataclass(frozen=True)
class Dense:
    """One sentence-transformers Dense layer: activation(x @ W.T + b), in float32."""

    weight: mx.array
    bias: mx.array | None
    activation: str

    def __call__(self, vectors: mx.array) -> mx.array:
        out = vectors @ self.weight.T
        if self.bias is not None:
            out = out + self.bias
        return DENSE_ACTIVATIONS[self.activation](out)

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])


@dataclass(frozen=True)
class SentencePipeline:
    """Pooling, then Dense / Normalize steps in declared order; prompts; max length."""

    pooling: str  # "cls" | "mean" | "max" | "lasttoken"
    steps: tuple[Dense | str, ...] = ()  # Dense layers and "normalize", in order
    max_seq_length: int | None = None
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None

    def vectors(self, states: mx.array, mask: mx.array, *, left_padded: bool = False
                ) -> mx.array:
        """Sentence vectors (float32) from last hidden states and the {0,1} mask."""
        return self.apply(pool(states, mask, Pooling(self.pooling, False),
                               left_padded=left_padded))

    def apply(self, pooled: mx.array) -> mx.array:
        """The modules after Pooling, on pooled float32 vectors (batch, hidden)."""
        for step in self.steps:
            pooled = normalize(pooled) if step == "normalize" else step(pooled)
        return pooled

    def dimensions(self, hidden_size: int) -> int:
        """Width of the served vectors: the last Dense layer's output, else hidden_size."""
        dense = [s for s in self.steps if isinstance(s, Dense)]
        return dense[-1].out_features if dense else hidden_size

    @property
    def normalized(self) -> bool:
        """Whether the vectors end L2-normalised (Normalize is the last step)."""
        return bool(self.steps) and self.steps[-1] == "normalize"


def _modules(directory: Path) -> list[dict[str, Any]]:
    modules = read_json(directory / "modules.json")
    if not isinstance(modules, list):
        return []
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    unsupported = [t for t, kind in zip((m.get("type") for m in modules), kinds, strict=True)
                   if kind not in MODULE_KINDS]
    if unsupported:
        raise UnsupportedModel(f"sentence-transformers modules not supported: {unsupported}; "
                               f"supported: {', '.join(MODULE_KINDS)}")
    return [{**m, "kind": kind} for m, kind in zip(modules, kinds, strict=True)]


def module_files(directory: Path) -> list[str]:
    """Paths (relative to ``directory``) of the files the pipeline reads beyond the
    Transformer's: every module folder's config.json and weights, and the ST configs."""
    names = ["modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"]
    for module in _modules(directory):
        path = str(module.get("path") or "")
        if module["kind"] in ("Pooling", "Dense") and path:
            names += [f"{path}/config.json", f"{path}/model.safetensors"]
    return [name for name in names if (directory / name).is_file()]


def _dense(directory: Path, path: str) -> Dense:
    config = read_json(directory / path / "config.json")
    activation = str(config.get("activation_function", "torch.nn.modules.linear.Identity"))
    activation = activation.rsplit(".", 1)[-1]
    if activation not in DENSE_ACTIVATIONS:
        raise UnsupportedModel(f"Dense activation '{activation}' in {path} is not supported; "
                               f"supported: {', '.join(DENSE_ACTIVATIONS)}")
    weights_file = directory / path / "model.safetensors"
    if not weights_file.is_file():
        raise UnsupportedModel(f"Dense layer {path} has no model.safetensors "
                               "(pytorch_model.bin is not supported)")
    weights = mx.load(str(weights_file))
    if "linear.weight" not in weights:
        raise UnsupportedModel(f"Dense layer {path} has no linear.weight")
    bias = weights.get("linear.bias") if config.get("bias", True) else None
    return Dense(weights["linear.weight"].astype(mx.float32),
                 None if bias is None else bias.astype(mx.float32), activation)


def read_prompts(directory: Path) -> tuple[dict[str, str], str | None]:
    """``prompts`` and ``default_prompt_name`` of config_sentence_transformers.json (a
    default that names no prompt is ignored)."""
    config = read_json(directory / "config_sentence_transformers.json")
    raw = config.get("prompts") or {}
    prompts = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    default = config.get("default_prompt_name")
    return prompts, (str(default) if default is not None and str(default) in prompts else None)


def read_pipeline(directory: Path, *, default_pooling: str = "mean",
                  default_normalize: bool = False) -> SentencePipeline:
    """The pipeline ``directory`` declares. Without modules.json: ``default_pooling``
    (sentence-transformers falls back to mean; Qwen3's recipe is lasttoken + normalize).

    Raises UnsupportedModel for modules, pooling modes or Dense layers we cannot run.
    """
    modules = _modules(directory)
    prompts, default_prompt = read_prompts(directory)
    length = read_json(directory / "sentence_bert_config.json").get("max_seq_length")
    max_seq_length = length if isinstance(length, int) and length > 0 else None
    if not modules:
        steps: tuple[Dense | str, ...] = ("normalize",) if default_normalize else ()
        return SentencePipeline(default_pooling, steps, max_seq_length, prompts,
                                default_prompt)
    pooling = default_pooling
    after_pooling: list[Dense | str] = []
    for module in modules:
        path = str(module.get("path") or "")
        if module["kind"] == "Pooling":
            config = read_json(directory / (path or "1_Pooling") / "config.json")
            if config.get("include_prompt") is False:
                raise UnsupportedModel("pooling that leaves out prompt tokens "
                                       "(include_prompt: false) is not supported")
            pooling = pooling_mode(config, default_pooling)
        elif module["kind"] == "Dense":
            after_pooling.append(_dense(directory, path))
        elif module["kind"] == "Normalize":
            after_pooling.append("normalize")
    return SentencePipeline(pooling, tuple(after_pooling), max_seq_length, prompts,
                            default_prompt)


def family_pipeline(directory: Path, family: Family) -> SentencePipeline:
    """The pipeline ``directory`` declares, with ``family``'s defaults where it declares
    none (encoders: mean, as sentence-transformers; Qwen3: last token + L2, its recipe)."""
    return read_pipeline(directory, default_pooling=family.default_pooling,
                         default_normalize=family.default_pooling == "lasttoken")


def apply_prompt(texts: Sequence[str], prompt: str | None) -> list[str]:
    """What encode(prompt=...) feeds the tokenizer: the prompt text before each text."""
    return [f"{prompt}{text}" if prompt else text for text in texts]
