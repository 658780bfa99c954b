"""Build a family's Model and move weights in and out of it.

Call these on the compute thread (engines) or on one thread throughout (converter): MLX
arrays belong to the thread that made them.

Converted weight layout: the Model's own parameter names (BERT/XLM-R/MPNet: ``embeddings.*``,
``encoder.*``, ``pooler.*``; Qwen3: ``embed_tokens.*``, ``layers.*``, ``norm.*``) plus task
heads under their Hugging Face names (``classifier.*``, ``lm_head.weight``, ``score.*``),
never quantized. See models/registry.py for the family interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten

from mlx_serve.adapters.mlx.convert.checkpoint import WEIGHTS_FILE, mlx_section, read_config
from mlx_serve.adapters.mlx.models.registry import HEAD_PREFIXES, Family, by_name
from mlx_serve.adapters.mlx.runtime.placement import Runtime
from mlx_serve.domain.errors import MlxServeError, ModelLoadError

DTYPES = {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}


def optional_prefixes(family: Family) -> tuple[str, ...]:
    """Parameters a checkpoint may lack (a family module's ``OPTIONAL_PARAMETERS``): e.g.
    sentence-transformers BERTs ship without the pooler, which only ``classify`` reads; the
    Model keeps its initial values there."""
    return tuple(getattr(family.module(), "OPTIONAL_PARAMETERS", ()))


@dataclass
class LoadedModule:
    """A family's Model with its weights, the heads beside it and the converted config."""

    family: Family
    backbone: nn.Module
    config: dict[str, Any]
    heads: dict[str, mx.array] = field(default_factory=dict)
    # Optional parameters (optional_prefixes) the checkpoint lacked: they hold init values.
    missing: tuple[str, ...] = ()

    @property
    def section(self) -> dict[str, Any]:
        return mlx_section(self.config) or {}

    @property
    def memory_bytes(self) -> int:
        arrays = [v for _, v in tree_flatten(self.backbone.parameters())]
        arrays += list(self.heads.values())
        # Weights another runtime holds in the backbone's place (onnx/backbone.py).
        external = int(getattr(self.backbone, "external_bytes", 0))
        return int(sum(a.nbytes for a in arrays)) + external


def quantize_predicate(group_size: int):
    """Which modules quantization touches: Linear layers whose input width the group divides."""

    def predicate(_path: str, layer: nn.Module) -> bool:
        return isinstance(layer, nn.Linear) and layer.weight.shape[-1] % group_size == 0

    return predicate


def split_weights(
    family: Family, config: dict[str, Any], weights: dict[str, mx.array], backbone: nn.Module
) -> tuple[dict[str, mx.array], dict[str, mx.array]]:
    """HF checkpoint tensors to (backbone weights, head weights); drops what is unused.

    Raises ValueError naming missing tensors.
    """
    renamed = family.sanitize(weights, config)
    wanted = {name for name, _ in tree_flatten(backbone.parameters())}
    heads = {k: v for k, v in renamed.items() if k.startswith(HEAD_PREFIXES)}
    own = {k: v for k, v in renamed.items() if k in wanted}
    missing = {m for m in wanted - set(own) if not m.startswith(optional_prefixes(family))}
    if missing:
        raise ValueError(f"checkpoint lacks weights: {sorted(missing)[:5]}")
    return own, heads


def load_module(directory: Path, compute_dtype: mx.Dtype | None = None) -> LoadedModule:
    """Load a converted model directory (``config.json`` with the mlx_serve section).

    ``compute_dtype`` casts floating weights (heads included) after loading; None keeps the
    stored dtype. Raises ModelLoadError for a missing/unconverted/corrupt directory.
    """
    try:
        config = read_config(directory)
    except MlxServeError as error:
        raise ModelLoadError(f"cannot read the model at {directory}: {error}") from error
    section = mlx_section(config)
    if section is None:
        raise ModelLoadError(f"{directory} does not hold a converted (MLX) model")
    try:
        family = by_name(str(section.get("family")))
        backbone = family.build(config)
        quantization = section.get("quantization")
        if quantization:
            group = int(quantization["group_size"])
            nn.quantize(backbone, group, int(quantization["bits"]),
                        class_predicate=quantize_predicate(group))
        weights = mx.load(str(directory / WEIGHTS_FILE))
    except (MlxServeError, ValueError, KeyError, RuntimeError, OSError) as error:
        raise ModelLoadError(f"cannot load the model at {directory}: {error}") from error
    heads = {k: v for k, v in weights.items() if k.startswith(HEAD_PREFIXES)}
    own = [(k, v) for k, v in weights.items() if not k.startswith(HEAD_PREFIXES)]
    stored = {k for k, _ in own}
    missing = tuple(n for n, _ in tree_flatten(backbone.parameters())
                    if n.startswith(optional_prefixes(family)) and n not in stored)
    try:
        backbone.load_weights(own, strict=not missing)
    except ValueError as error:
        raise ModelLoadError(f"weights do not fit the model at {directory}: {error}") from error
    if compute_dtype is not None:
        backbone.set_dtype(compute_dtype)
        heads = {k: v.astype(compute_dtype) if mx.issubdtype(v.dtype, mx.floating) else v
                 for k, v in heads.items()}
    backbone.eval()
    mx.eval(backbone.parameters(), heads)
    return LoadedModule(family, backbone, config, heads, missing)


def compute_dtype_of(directory: Path, runtime: Runtime) -> mx.Dtype:
    """The dtype a converted model computes in under ``runtime`` (its family's half dtype on
    a GPU). Raises ModelLoadError for a missing, unconverted or unknown-family directory."""
    try:
        section = mlx_section(read_config(directory))
        if section is None:
            raise ModelLoadError(f"{directory} does not hold a converted (MLX) model")
        return runtime.compute_dtype(str(section.get("family")))
    except ModelLoadError:
        raise
    except MlxServeError as error:
        raise ModelLoadError(f"cannot load the model at {directory}: {error}") from error


def use_fast_cpu_ops(backbone: nn.Module) -> bool:
    """Turn on the vectorised CPU activations (runtime/fast_ops) where the family has them;
    returns whether it did. Only for float32 on the CPU (the caller checks)."""
    if not hasattr(backbone, "fast_cpu_ops"):
        return False
    backbone.fast_cpu_ops = True
    return True
