"""MlxConverter: a Hugging Face-layout checkpoint in, the files our engines load out.

Weights dtype: kept as the checkpoint stores them unless ``options.dtype`` says otherwise
(small BERTs ship float32, which is also what a CPU computes in; Qwen3 ships bfloat16, which
halves memory and is what a GPU computes in). Engines cast to their compute dtype at load.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from loguru import logger

from mlx_serve.adapters.mlx.convert import checkpoint as ckpt
from mlx_serve.adapters.mlx.models.registry import Family, by_name
from mlx_serve.domain.errors import InvalidRequest, UnsupportedModel
from mlx_serve.domain.models import ModelType
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint

QUANTIZE_BITS = (4, 8)
DTYPE_ALIASES = {"fp32": "float32", "f32": "float32", "fp16": "float16", "f16": "float16",
                 "half": "float16", "bf16": "bfloat16"}


class MlxConverter:
    """Implements the ModelConverter port with MLX (blocking; run it off the event loop)."""

    def convert(
        self, checkpoint: FetchedCheckpoint, destination: Path, options: ConversionOptions
    ) -> dict[str, Any]:
        """Write the converted model into ``destination`` and return its metadata.

        Metadata keys: type (ModelType value), architecture, dimensions (None for rerankers),
        max_length, dtype, quantization ("4bit-g64" style or None).
        Raises UnsupportedModel (unknown family, missing tokenizer.json or weights) and
        InvalidRequest (bad options, type not inferable). MLX runs on the calling thread.
        """
        source_dir = Path(checkpoint.directory)
        config = ckpt.read_config(source_dir)
        if not (source_dir / "tokenizer.json").is_file():
            raise UnsupportedModel(
                f"{checkpoint.source} has no tokenizer.json (a fast tokenizer is required; "
                "convert the tokenizer with transformers and save it first)"
            )
        section = ckpt.mlx_section(config)
        if section is not None:
            destination.mkdir(parents=True, exist_ok=True)
            self._copy_converted(source_dir, destination)
            return self._metadata(source_dir, config, section)
        family = ckpt.family_of(config)  # refused before anything is written
        model_type = ckpt.infer_type(config, source_dir, checkpoint.source, options.model_type)
        dtype = self._check_options(options)
        if dtype == "float16" and not family.float16_ok:
            raise InvalidRequest(
                f"{family.name} models cannot run in float16 (their activations overflow it); "
                "use bfloat16 or float32", param="dtype")
        if model_type is ModelType.EMBEDDING:
            _read_pipeline(source_dir, family)  # refused before anything is written
        destination.mkdir(parents=True, exist_ok=True)
        weight_files = sorted(source_dir.glob("*.safetensors"))
        if not weight_files:
            raise UnsupportedModel(
                f"{checkpoint.source} has no .safetensors weights (pytorch_model.bin is not "
                "supported)"
            )
        quantization = None
        if options.quantize_bits:
            quantization = {"bits": options.quantize_bits,
                            "group_size": options.quantize_group_size}
        written_dtype = _write_weights(family, config, weight_files, destination, dtype,
                                       quantization)
        section = {
            "format_version": 1,
            "family": family.name,
            "type": model_type.value,
            "architecture": ckpt.architecture_of(config),
            "dtype": written_dtype,
            "quantization": quantization,
            "source": checkpoint.source,
            "max_length": ckpt.max_length_of(source_dir, config, family),
        }
        out_config = dict(config)
        out_config[ckpt.MLX_SECTION] = section
        (destination / "config.json").write_text(json.dumps(out_config, indent=2))
        self._copy_side_files(source_dir, destination)
        logger.info("converted {} ({}, {}) into {}", checkpoint.source, section["architecture"],
                    model_type.value, destination)
        return self._metadata(destination, out_config, section)

    @staticmethod
    def _check_options(options: ConversionOptions) -> str | None:
        if options.quantize_bits is not None and options.quantize_bits not in QUANTIZE_BITS:
            raise InvalidRequest(f"quantize must be one of {QUANTIZE_BITS} bits",
                                 param="quantize")
        if options.quantize_group_size not in (32, 64, 128):
            raise InvalidRequest("quantization group size must be 32, 64 or 128",
                                 param="quantize")
        if options.dtype is None or options.dtype == "auto":
            return None
        dtype = DTYPE_ALIASES.get(options.dtype.lower(), options.dtype.lower())
        if dtype not in ("float32", "float16", "bfloat16"):
            raise InvalidRequest(
                f"dtype '{options.dtype}' is not one of float32, float16, bfloat16",
                param="dtype")
        return dtype

    @staticmethod
    def _copy_side_files(source_dir: Path, destination: Path) -> None:
        from mlx_serve.adapters.mlx.pipeline.st_pipeline import module_files

        # module_files: every module folder the pipeline declares (Pooling, Dense weights).
        # An embedding model's pipeline was checked already; a reranker's is never run.
        try:
            declared = module_files(source_dir)
        except UnsupportedModel:
            declared = []
        names = dict.fromkeys([*ckpt.TOKENIZER_FILES, *ckpt.SENTENCE_TRANSFORMERS_FILES,
                               *declared])
        for name in names:
            if (source_dir / name).is_file():
                (destination / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source_dir / name, destination / name)

    def _copy_converted(self, source_dir: Path, destination: Path) -> None:
        if not (source_dir / ckpt.WEIGHTS_FILE).is_file():
            raise UnsupportedModel(f"{source_dir} has no {ckpt.WEIGHTS_FILE}")
        for name in (ckpt.WEIGHTS_FILE, "config.json"):
            shutil.copy2(source_dir / name, destination / name)
        self._copy_side_files(source_dir, destination)

    @staticmethod
    def _metadata(directory: Path, config: dict[str, Any], section: dict[str, Any]
                  ) -> dict[str, Any]:
        model_type = ModelType(section["type"])
        quantization = section.get("quantization")
        dimensions = None
        if model_type is ModelType.EMBEDDING:
            family = by_name(str(section.get("family")))
            # The served width: the last Dense layer's output (EmbeddingGemma), else hidden.
            dimensions = _read_pipeline(directory, family).dimensions(family.hidden_size(config))
        return {
            "type": model_type,
            "architecture": section["architecture"],
            "dimensions": dimensions,
            "max_length": int(section["max_length"]),
            "dtype": section["dtype"],
            "quantization": f"{quantization['bits']}bit-g{quantization['group_size']}"
            if quantization else None,
        }


def _read_pipeline(directory: Path, family: Family):  # -> st_pipeline.SentencePipeline
    """The sentence-transformers pipeline ``directory`` declares (Dense layers read, so MLX
    loads); raises UnsupportedModel for modules, pooling modes or Dense layers we cannot run."""
    from mlx_serve.adapters.mlx.pipeline.st_pipeline import family_pipeline

    return family_pipeline(directory, family)


def _write_weights(family: Family, config: dict[str, Any], files: list[Path],
                   destination: Path, dtype: str | None,
                   quantization: dict[str, int] | None) -> str:
    """Load, rename (the family's ``sanitize``), cast (and quantize) the weights; returns
    the dtype written."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten

    from mlx_serve.adapters.mlx.models import loading

    weights: dict[str, mx.array] = {}
    for file in files:
        weights.update(mx.load(str(file)))
    backbone = family.build(config)
    try:
        own, heads = loading.split_weights(family, config, weights, backbone)
    except (ValueError, KeyError) as error:
        raise UnsupportedModel(f"weights do not match a {family.name} model: {error}") from error
    floating = [v.dtype for v in own.values() if mx.issubdtype(v.dtype, mx.floating)]
    target = loading.DTYPES[dtype] if dtype else (floating[0] if floating else mx.float32)
    backbone.load_weights(list(own.items()), strict=False)
    backbone.set_dtype(target)
    if quantization:
        group = quantization["group_size"]
        nn.quantize(backbone, group, quantization["bits"],
                    class_predicate=loading.quantize_predicate(group))
    out = dict(tree_flatten(backbone.parameters()))
    for key, value in heads.items():
        out[key] = value.astype(target) if mx.issubdtype(value.dtype, mx.floating) else value
    mx.save_safetensors(str(destination / "model.safetensors"), out)
    return {mx.float32: "float32", mx.float16: "float16", mx.bfloat16: "bfloat16"}[target]
