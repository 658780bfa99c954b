"""Preloading: load the configured models at server start, in the background.

``/health`` says ``starting`` (503) until every preload has finished or failed. A preload that
fails (unknown model, broken files) is logged with its reason and recorded in the health
state; the server still serves everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from loguru import logger as log

from mlx_serve.application.health import HealthState
from mlx_serve.domain.errors import MlxServeError
from mlx_serve.domain.models import ModelInfo


class ModelResolver(Protocol):
    """The part of ModelCatalog preloading needs."""

    def resolve(self, ref: str) -> ModelInfo: ...


class ModelPreloader(Protocol):
    """The part of ModelResidencyCache preloading needs."""

    async def preload(self, info: ModelInfo, *, keep_alive: float | None = None) -> None: ...


class Preloader:
    def __init__(self, catalog: ModelResolver, cache: ModelPreloader, health: HealthState) -> None:
        self._catalog = catalog
        self._cache = cache
        self._health = health
        self._task: asyncio.Task[Any] | None = None

    async def run(self, refs: Sequence[str]) -> dict[str, str]:
        """Preload ``refs`` one after another (MLX loads on one thread anyway), then mark the
        server ready. Returns the failures (reference -> reason); never raises for a model."""
        failures: dict[str, str] = {}
        try:
            for ref in dict.fromkeys(refs):  # drop duplicates, keep order
                try:
                    info = await asyncio.to_thread(self._catalog.resolve, ref)
                    log.info("preloading model '{}'", info.name)
                    await self._cache.preload(info)
                except MlxServeError as exc:
                    failures[ref] = exc.message
                    log.error("preload of model '{}' failed: {}", ref, exc.message)
                except Exception as exc:  # broken files can fail in unplanned ways
                    failures[ref] = f"{type(exc).__name__}: {exc}"
                    log.opt(exception=exc).error("preload of model '{}' failed", ref)
                else:
                    log.info("preloaded model '{}'", info.name)
        finally:
            self._health.preload_failures.update(failures)
            self._health.mark_ready()
        return failures

    def start(self, refs: Sequence[str]) -> asyncio.Task[Any]:
        """Run the preloads as a background task on the running loop (server start-up)."""
        self._task = asyncio.get_running_loop().create_task(self.run(refs))
        return self._task

    async def close(self) -> None:
        """Cancel preloading that is still running (shutdown during start-up)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
