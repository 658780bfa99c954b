"""Pieces of a pull: checking its options, naming the model, recording its metadata."""

from __future__ import annotations

from typing import Any

from mlx_serve.domain.errors import InvalidModelName, InvalidRequest, UnsupportedModel
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.names import validate_model_name
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint

DTYPES = ("float16", "bfloat16", "float32")
QUANTIZE_BITS = (4, 8)
_REQUIRED = ("type", "architecture", "max_length", "dtype")
# Metadata keys the converter reports that ModelInfo has fields for; the rest go to `extra`.
_INFO_KEYS = {"type", "architecture", "dimensions", "max_length", "dtype", "quantization"}


def conversion_options(
    model_type: ModelType | str | None,
    dtype: str | None,
    quantize: int | None,
    group_size: int,
) -> ConversionOptions:
    """Validated conversion options; raises InvalidRequest naming the bad parameter."""
    if isinstance(model_type, str):
        model_type = ModelType.parse(model_type)
    if dtype is not None and dtype not in DTYPES:
        raise InvalidRequest(
            f"unknown dtype '{dtype}' (expected one of: {', '.join(DTYPES)})", param="dtype"
        )
    if quantize is not None and quantize not in QUANTIZE_BITS:
        raise InvalidRequest("quantize must be 4 or 8 (bits)", param="quantize")
    return ConversionOptions(
        model_type=model_type,
        dtype=dtype,
        quantize_bits=quantize,
        quantize_group_size=group_size,
    )


def default_name(source: str) -> str:
    """The last part of a directory path or repo id, which must be a valid model name."""
    basename = source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    try:
        return validate_model_name(basename, param="name")
    except InvalidModelName as exc:
        raise InvalidModelName(
            f"cannot name the model after '{source}' ({exc.message}); give a name", param="name"
        ) from None


def model_info(
    name: str, checkpoint: FetchedCheckpoint, metadata: dict[str, Any], *, created: float
) -> ModelInfo:
    """The metadata to record for a converted checkpoint (size is measured by the store)."""
    missing = [key for key in _REQUIRED if metadata.get(key) is None]
    if missing:
        raise UnsupportedModel(f"conversion did not determine the model's {', '.join(missing)}")
    model_type = metadata["type"]
    return ModelInfo(
        name=name,
        type=model_type if isinstance(model_type, ModelType) else ModelType.parse(model_type),
        source=checkpoint.source,
        revision=checkpoint.revision,
        architecture=str(metadata["architecture"]),
        dimensions=metadata.get("dimensions"),
        max_length=int(metadata["max_length"]),
        dtype=str(metadata["dtype"]),
        quantization=metadata.get("quantization"),
        size_bytes=0,
        created=created,
        extra={k: v for k, v in metadata.items() if k not in _INFO_KEYS},
    )
