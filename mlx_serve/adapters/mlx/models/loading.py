"""Build mlx-embeddings backbones and move weights in and out of them.

Call these on the compute thread (engines) or on one thread throughout (converter): MLX
arrays belong to the thread that made them. Importing ``mlx_embeddings.models`` costs
seconds (the package pulls in transformers), so it happens here, lazily, at first use.

Converted weight layout: the backbone's own parameter names (BERT/XLM-R: the
mlx-embeddings ``Model``: ``embeddings.*``, ``encoder.*``, ``pooler.*``; Qwen3: the
``Qwen3Model``: ``embed_tokens.*``, ``layers.*``, ``norm.*``) plus task heads under their
Hugging Face names (``classifier.*``, ``lm_head.weight``, ``score.*``), never quantized.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten

from mlx_serve.adapters.mlx.convert.checkpoint import (
    FAMILIES,
    WEIGHTS_FILE,
    mlx_section,
    read_config,
)
from mlx_serve.domain.errors import ModelLoadError

HEAD_PREFIXES = ("classifier.", "lm_head.", "score.")
DTYPES = {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}


@dataclass
class LoadedModule:
    """A backbone with its weights, the heads beside it and the converted config."""

    family: str
    backbone: nn.Module
    config: dict[str, Any]
    heads: dict[str, mx.array] = field(default_factory=dict)

    @property
    def section(self) -> dict[str, Any]:
        return mlx_section(self.config) or {}

    @property
    def memory_bytes(self) -> int:
        arrays = [v for _, v in tree_flatten(self.backbone.parameters())]
        arrays += list(self.heads.values())
        return int(sum(a.nbytes for a in arrays))


def build_backbone(family: str, config: dict[str, Any]) -> nn.Module:
    """An uninitialised-weights backbone module for ``family`` from a HF config dict."""
    module = importlib.import_module(f"mlx_embeddings.models.{family}")
    args = module.ModelArgs.from_dict(_with_rope_theta(config))
    if family == "qwen3":
        return module.Qwen3Model(args)
    return module.Model(args)


def _with_rope_theta(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with a top-level ``rope_theta`` when only ``rope_parameters`` holds it.

    transformers 5 saves ``rope_parameters: {"rope_theta": ...}``; mlx-embeddings reads only
    the top-level key and otherwise falls back to 1e6 (right for the real Qwen3 checkpoints,
    wrong for any other base).
    """
    theta = (config.get("rope_parameters") or {}).get("rope_theta")
    if "rope_theta" in config or theta is None:
        return config
    return {**config, "rope_theta": theta}


def quantize_predicate(group_size: int):
    """Which modules quantization touches: Linear layers whose input width the group divides."""

    def predicate(_path: str, layer: nn.Module) -> bool:
        return isinstance(layer, nn.Linear) and layer.weight.shape[-1] % group_size == 0

    return predicate


def split_weights(
    family: str, weights: dict[str, mx.array], backbone: nn.Module
) -> tuple[dict[str, mx.array], dict[str, mx.array]]:
    """Rename HF checkpoint keys to (backbone weights, head weights); drops the rest."""
    prefix = FAMILIES_PREFIX[family]
    wanted = {name for name, _ in tree_flatten(backbone.parameters())}
    own: dict[str, mx.array] = {}
    heads: dict[str, mx.array] = {}
    for key, value in weights.items():
        if key.startswith(HEAD_PREFIXES):
            heads[key] = value
            continue
        name = key[len(prefix):] if key.startswith(prefix) else key
        # Old BERT checkpoints name LayerNorm parameters gamma/beta.
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight")
        name = name.replace("LayerNorm.beta", "LayerNorm.bias")
        if name in wanted:
            own[name] = value
    missing = wanted - set(own)
    # A sentence-transformers BERT often ships without the (unused) pooler: keep its init.
    missing = {m for m in missing if not m.startswith("pooler.")}
    if missing:
        raise ModelLoadError(f"checkpoint lacks weights: {sorted(missing)[:5]}")
    return own, heads


FAMILIES_PREFIX = {family: prefix for family, prefix in FAMILIES.values()}


def load_module(directory: Path, compute_dtype: mx.Dtype | None = None) -> LoadedModule:
    """Load a converted model directory (``config.json`` with the mlx_serve section).

    ``compute_dtype`` casts floating weights (heads included) after loading; None keeps the
    stored dtype. Raises ModelLoadError for a missing/unconverted/corrupt directory.
    """
    try:
        config = read_config(directory)
    except Exception as error:
        raise ModelLoadError(f"cannot read the model at {directory}: {error}") from error
    section = mlx_section(config)
    if section is None:
        raise ModelLoadError(f"{directory} does not hold a converted (MLX) model")
    family = str(section.get("family"))
    try:
        backbone = build_backbone(family, config)
        quantization = section.get("quantization")
        if quantization:
            group = int(quantization["group_size"])
            nn.quantize(backbone, group, int(quantization["bits"]),
                        class_predicate=quantize_predicate(group))
        weights = mx.load(str(directory / WEIGHTS_FILE))
    except (ImportError, ValueError, KeyError, RuntimeError, OSError) as error:
        raise ModelLoadError(f"cannot load the model at {directory}: {error}") from error
    heads = {k: v for k, v in weights.items() if k.startswith(HEAD_PREFIXES)}
    own = [(k, v) for k, v in weights.items() if not k.startswith(HEAD_PREFIXES)]
    try:
        backbone.load_weights(own, strict=not _lacks_pooler(backbone, own))
    except ValueError as error:
        raise ModelLoadError(f"weights do not fit the model at {directory}: {error}") from error
    if compute_dtype is not None:
        backbone.set_dtype(compute_dtype)
        heads = {k: v.astype(compute_dtype) if mx.issubdtype(v.dtype, mx.floating) else v
                 for k, v in heads.items()}
    backbone.eval()
    mx.eval(backbone.parameters(), heads)
    return LoadedModule(family, backbone, config, heads)


def _lacks_pooler(backbone: nn.Module, own: list[tuple[str, mx.array]]) -> bool:
    names = {k for k, _ in own}
    return any(n.startswith("pooler.") and n not in names
               for n, _ in tree_flatten(backbone.parameters()))
