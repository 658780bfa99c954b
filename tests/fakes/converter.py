"""A ModelConverter that writes nothing and reports the metadata it was given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint

DEFAULT_METADATA: dict[str, Any] = {
    "type": "embedding",
    "architecture": "bert",
    "dimensions": 384,
    "max_length": 512,
    "dtype": "float32",
    "quantization": None,
}


class FakeConverter:
    """Records every call in ``calls``; raises ``error`` when set."""

    def __init__(
        self, metadata: dict[str, Any] | None = None, *, error: Exception | None = None
    ) -> None:
        self.metadata = dict(DEFAULT_METADATA if metadata is None else metadata)
        self.error = error
        self.calls: list[tuple[FetchedCheckpoint, Path, ConversionOptions]] = []

    def convert(
        self, checkpoint: FetchedCheckpoint, destination: Path, options: ConversionOptions
    ) -> dict[str, Any]:
        self.calls.append((checkpoint, destination, options))
        if self.error is not None:
            raise self.error
        metadata = dict(self.metadata)
        if options.model_type is not None:
            metadata["type"] = options.model_type.value
        if options.dtype is not None:
            metadata["dtype"] = options.dtype
        if options.quantize_bits is not None:
            metadata["quantization"] = f"q{options.quantize_bits}"
        return metadata
