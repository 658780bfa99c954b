"""What a checkpoint directory holds: family, type, pooling, limits. No MLX imports.

Shared by the converter (Hugging Face layout in) and the loaders (MLX layout in). The
converted ``config.json`` is the original one plus an ``mlx_serve`` section (see
``MLX_SECTION``); its presence is what marks a directory as already converted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlx_serve.adapters.mlx.models.registry import Family, for_config
from mlx_serve.domain.errors import InvalidRequest, UnsupportedModel
from mlx_serve.domain.models import ModelType

MLX_SECTION = "mlx_serve"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "added_tokens.json",
)
SENTENCE_TRANSFORMERS_FILES = (
    "modules.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
)


@dataclass(frozen=True)
class Pooling:
    """How token states become one vector (sentence-transformers' Pooling + Normalize)."""

    mode: str  # "cls" | "mean" | "max" | "lasttoken"
    normalize: bool


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise UnsupportedModel(f"cannot read {path.name}: {error}") from error


def read_config(directory: Path) -> dict[str, Any]:
    """The checkpoint's config.json; raises UnsupportedModel when missing."""
    path = directory / "config.json"
    if not path.is_file():
        raise UnsupportedModel(f"no config.json in {directory}: not a Hugging Face checkpoint")
    return read_json(path)


def family_of(config: dict[str, Any]) -> Family:
    """The registered family that runs this config; raises UnsupportedModel naming the
    architecture and listing the supported model types."""
    return for_config(config)


def architecture_of(config: dict[str, Any]) -> str:
    architectures = config.get("architectures") or []
    return str(architectures[0]) if architectures else str(config.get("model_type", "unknown"))


def infer_type(
    config: dict[str, Any], directory: Path, source: str, requested: ModelType | None
) -> ModelType:
    """Embedding or reranker: the request wins, else architecture, names, ST files.

    Raises InvalidRequest when a causal LM gives no hint (pass the type explicitly).
    """
    if requested is not None:
        return requested
    arch = architecture_of(config)
    if arch.endswith("ForSequenceClassification"):
        return ModelType.RERANKER
    if arch.endswith("ForCausalLM"):
        names = " ".join([source, directory.name, str(config.get("_name_or_path", ""))]).lower()
        if "rerank" in names:
            return ModelType.RERANKER
        if "embed" in names or (directory / "modules.json").is_file():
            return ModelType.EMBEDDING
        raise InvalidRequest(
            f"cannot tell whether {source} ({arch}) is an embedding model or a reranker; "
            "pass the model type explicitly (--type embedding|reranker)",
            param="type",
        )
    return ModelType.EMBEDDING


def pooling_mode(pooling: dict[str, Any], fallback: str) -> str:
    """The mode a sentence-transformers Pooling config.json selects ("cls", "lasttoken",
    "max", "mean"), ``fallback`` when it selects none; raises UnsupportedModel for modes we
    do not compute."""
    for key, mode in (
        ("pooling_mode_cls_token", "cls"),
        ("pooling_mode_lasttoken", "lasttoken"),
        ("pooling_mode_max_tokens", "max"),
        ("pooling_mode_mean_tokens", "mean"),
    ):
        if pooling.get(key):
            return mode
    if pooling.get("pooling_mode_mean_sqrt_len_tokens") or pooling.get(
        "pooling_mode_weightedmean_tokens"
    ):
        raise UnsupportedModel("pooling mode not supported (mean_sqrt_len / weighted mean)")
    return fallback


def max_length_of(directory: Path, config: dict[str, Any], family: Family) -> int:
    """Longest input in tokens: ST max_seq_length, tokenizer limit, then position table."""
    positions = family.max_positions(config)
    st_length = read_json(directory / "sentence_bert_config.json").get("max_seq_length")
    if isinstance(st_length, int) and st_length > 0:
        return min(st_length, positions)
    if family.default_max_length is not None:
        return min(family.default_max_length, positions)
    tokenizer_length = read_json(directory / "tokenizer_config.json").get("model_max_length")
    if isinstance(tokenizer_length, int) and 0 < tokenizer_length < 1_000_000:
        return min(tokenizer_length, positions)
    return positions


def mlx_section(config: dict[str, Any]) -> dict[str, Any] | None:
    """The ``mlx_serve`` section of a converted config.json, or None for a HF checkpoint."""
    section = config.get(MLX_SECTION)
    return section if isinstance(section, dict) else None
