"""An in-memory ModelStore whose state unit tests assert on."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

from mlx_serve.domain.errors import ModelAlreadyExists, ModelNotFound
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.names import validate_model_name

FAKE_SIZE_BYTES = 1234


class FakeModelStore:
    """Models live in ``models``; staging directories are names only, nothing touches disk."""

    def __init__(self, models: list[ModelInfo] | None = None) -> None:
        self.root = Path("/fake-models")
        self.models: dict[str, ModelInfo] = {m.name: m for m in models or []}
        self.staging: set[Path] = set()  # handed out, neither committed nor discarded
        self.discarded: list[Path] = []
        self.originals: dict[Path, Path] = {}  # staging -> checkpoint copied into it
        self.removed: list[str] = []
        self._counter = itertools.count()

    def list(self) -> list[ModelInfo]:
        return sorted(self.models.values(), key=lambda m: m.name)

    def get(self, name: str) -> ModelInfo:
        validate_model_name(name)
        if name not in self.models:
            raise ModelNotFound(name)
        return self.models[name]

    def staging_directory(self, name: str) -> Path:
        validate_model_name(name)
        path = self.root / ".staging" / f"{name}-{next(self._counter)}"
        self.staging.add(path)
        return path

    def include_original(self, staging: Path, checkpoint: Path) -> None:
        assert staging in self.staging
        self.originals[staging] = checkpoint

    def commit(self, staging: Path, info: ModelInfo, *, replace: bool = False) -> ModelInfo:
        validate_model_name(info.name)
        assert staging in self.staging, "commit of a directory that was not staged"
        if info.name in self.models and not replace:
            raise ModelAlreadyExists(f"model '{info.name}' is already installed")
        self.staging.discard(staging)
        info = dataclasses.replace(info, size_bytes=FAKE_SIZE_BYTES, path=self.root / info.name)
        self.models[info.name] = info
        return info

    def remove(self, name: str) -> None:
        self.get(name)
        del self.models[name]
        self.removed.append(name)

    def discard(self, staging: Path) -> None:
        self.staging.discard(staging)
        self.discarded.append(staging)


def make_info(name: str, **fields: object) -> ModelInfo:
    """A ModelInfo with plausible defaults, for seeding a FakeModelStore."""
    values: dict[str, object] = {
        "type": ModelType.EMBEDDING,
        "source": f"org/{name}",
        "architecture": "bert",
        "dimensions": 384,
        "max_length": 512,
        "dtype": "float32",
        "size_bytes": FAKE_SIZE_BYTES,
        "created": 1_700_000_000.0,
    }
    values.update(fields)
    return ModelInfo(name=name, **values)  # type: ignore[arg-type]
