"""What an installed model is: its type and the metadata recorded beside its files."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class ModelType(str, Enum):
    EMBEDDING = "embedding"
    RERANKER = "reranker"

    @classmethod
    def parse(cls, value: str) -> ModelType:
        from mlx_serve.domain.errors import InvalidRequest

        try:
            return cls(value.lower())
        except ValueError:
            allowed = ", ".join(t.value for t in cls)
            raise InvalidRequest(
                f"unknown model type '{value}' (expected one of: {allowed})", param="type"
            ) from None


@dataclass(frozen=True)
class ModelInfo:
    """The metadata file of one installed model (``mlx-serve.json``).

    ``path`` is where the model's files live; it is derived, never stored.
    """

    name: str
    type: ModelType
    source: str
    architecture: str
    dimensions: int | None
    max_length: int
    dtype: str
    size_bytes: int
    created: float
    revision: str | None = None
    quantization: str | None = None
    aliases: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path = Path()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["type"] = self.type.value
        data["aliases"] = list(self.aliases)
        data.pop("path")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> ModelInfo:
        known = {f.name for f in dataclasses.fields(cls)} - {"path"}
        values = {k: v for k, v in data.items() if k in known}
        values["type"] = ModelType(values["type"])
        values["aliases"] = tuple(values.get("aliases", ()))
        return cls(**values, path=path)
