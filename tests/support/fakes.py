"""Fake catalog and residency cache for tests of the application services and the HTTP app.

Engines come from ``tests.fakes.engines``; these two stand in for ModelCatalog and
ModelResidencyCache with just the behaviour the services rely on, and record what they saw.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mlx_serve.application.residency import ResidentModel
from mlx_serve.domain.errors import ModelNotFound
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.names import validate_model_reference


class FakeCatalog:
    """Resolves installed names, sources (repo ids) and aliases, case-insensitively."""

    def __init__(self, infos: list[ModelInfo], aliases: dict[str, str] | None = None) -> None:
        self.infos = {info.name: info for info in infos}
        self.aliases = dict(aliases or {})
        self.resolved: list[str] = []

    def list(self) -> list[ModelInfo]:
        return sorted(self.infos.values(), key=lambda info: info.name)

    def resolve(self, ref: str) -> ModelInfo:
        validate_model_reference(ref)
        self.resolved.append(ref)
        wanted = self.aliases.get(ref.lower(), ref).lower()
        for info in self.infos.values():
            if wanted in (info.name.lower(), info.source.lower()):
                return info
        raise ModelNotFound(ref)


class FakeCache:
    """Loads each model once through the fake engines and keeps it; records every use."""

    def __init__(self, embedding_engine: Any, reranker: Any = None) -> None:
        self.embedding_engine = embedding_engine
        self.reranker = reranker
        self.models: dict[str, Any] = {}
        self.uses: list[tuple[str, float | None]] = []

    @asynccontextmanager
    async def use(self, info: ModelInfo, *, keep_alive: float | None = None) -> AsyncIterator[Any]:
        self.uses.append((info.name, keep_alive))
        if info.name not in self.models:
            engine = self.embedding_engine if info.type is ModelType.EMBEDDING else self.reranker
            self.models[info.name] = await engine.load(info)
        yield self.models[info.name]

    def loaded(self) -> list[ResidentModel]:
        return [
            ResidentModel(model.info, time.time() + 1800, model.memory_bytes)
            for model in self.models.values()
        ]
