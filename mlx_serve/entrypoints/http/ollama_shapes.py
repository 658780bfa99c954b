"""The JSON shapes of Ollama's model endpoints, built from our ModelInfo.

The ``ollama`` SDK parses these with pydantic models; Open WebUI reads ``name`` where newer
SDKs read ``model``, so lists carry both.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any

from mlx_serve.domain.models import ModelInfo, ModelType

_BYTES_PER_PARAMETER = {"float32": 4.0, "float16": 2.0, "bfloat16": 2.0}
_QUANT_BYTES = {"4bit": 0.5, "8bit": 1.0}


def rfc3339(unix_seconds: float | None) -> str | None:
    if unix_seconds is None:
        return None
    try:
        return datetime.fromtimestamp(unix_seconds, tz=timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        # Past year 9999: a status route (/health, /api/ps) must never fail over a date.
        return None


def digest(info: ModelInfo) -> str:
    """A stable sha256 (hex) of the model's metadata, standing in for Ollama's manifest digest."""
    text = json.dumps(info.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _quant_key(info: ModelInfo) -> str | None:
    """``4bit``/``8bit`` from the converter's ``4bit-g64`` (or a plain ``4``/``8``)."""
    match = re.match(r"\s*q?(\d+)", (info.quantization or "").lower())
    key = f"{match.group(1)}bit" if match else None
    return key if key in _QUANT_BYTES else None


def parameter_count(info: ModelInfo) -> int:
    """Parameters as recorded by the converter, else estimated from size and dtype."""
    recorded = info.extra.get("parameter_count") if info.extra else None
    if isinstance(recorded, int) and recorded > 0:
        return recorded
    quant = _quant_key(info)
    per = _QUANT_BYTES[quant] if quant else _BYTES_PER_PARAMETER.get(info.dtype, 2.0)
    return int(info.size_bytes / per)


def parameter_size(count: int) -> str:
    """Ollama's human parameter size: ``22.7M``, ``0.6B``."""
    if count >= 1_000_000_000:
        return f"{count / 1e9:.1f}B"
    if count >= 1_000_000:
        return f"{count / 1e6:.1f}M"
    return f"{count / 1e3:.1f}K"


def details(info: ModelInfo) -> dict[str, Any]:
    quant = _quant_key(info)
    level = f"Q{quant[0]}" if quant else {"float32": "F32", "float16": "F16",
                                          "bfloat16": "BF16"}.get(info.dtype, info.dtype.upper())
    return {
        "parent_model": "",
        "format": "mlx",
        "family": info.architecture,
        "families": [info.architecture],
        "parameter_size": parameter_size(parameter_count(info)),
        "quantization_level": level,
    }


def model_entry(info: ModelInfo) -> dict[str, Any]:
    """One model of ``GET /api/tags``."""
    return {
        "name": info.name,
        "model": info.name,
        "modified_at": rfc3339(info.created),
        "size": info.size_bytes,
        "digest": digest(info),
        "details": details(info),
        "type": info.type.value,
    }


def capabilities(info: ModelInfo) -> list[str]:
    return ["embedding"] if info.type is ModelType.EMBEDDING else ["rerank"]


def model_info(info: ModelInfo) -> dict[str, Any]:
    """``model_info`` of ``/api/show``, in GGUF-style keys as Ollama reports them."""
    arch = info.architecture
    data: dict[str, Any] = {
        "general.architecture": arch,
        "general.basename": info.name,
        "general.parameter_count": parameter_count(info),
        f"{arch}.context_length": info.max_length,
    }
    if info.dimensions is not None:
        data[f"{arch}.embedding_length"] = info.dimensions
    if info.quantization:
        data["general.quantization"] = info.quantization
    return data


def show(info: ModelInfo) -> dict[str, Any]:
    """The body of ``POST /api/show``."""
    return {
        "modelfile": "",
        "parameters": "",
        "template": "",
        "details": details(info),
        "model_info": model_info(info),
        "capabilities": capabilities(info),
        "modified_at": rfc3339(info.created),
        "type": info.type.value,
        "source": info.source,
        "revision": info.revision,
        # Relative to the models directory: a response never shows the server's own paths.
        "path": info.path.name,
        "size": info.size_bytes,
        "dtype": info.dtype,
        "quantization": info.quantization,
        "aliases": list(info.aliases),
    }


def running_entry(resident: Any, device: str) -> dict[str, Any]:
    """One model of ``GET /api/ps`` from a ResidentModel."""
    info: ModelInfo = resident.info
    size = int(resident.memory_bytes)
    return {
        "name": info.name,
        "model": info.name,
        "size": size,
        "digest": digest(info),
        "details": details(info),
        "expires_at": rfc3339(resident.expires_at),
        # Unified memory on Apple GPUs: what is resident is in "VRAM"; on the CPU nothing is.
        "size_vram": size if device.lower().startswith("gpu") else 0,
        "context_length": info.max_length,
        "engine": resident.engine,  # mlx-serve's own field: mlx or onnxruntime (decision 22)
    }
