"""Which models are in memory: an LRU + TTL cache per model type over the engine ports.

Rules (the README's "Model Cache" section, made precise):

- One entry per installed model name. The first request loads it; every request that arrives
  while it loads waits on the same load (one load under a thundering herd). A failed load is
  raised to every waiter and is not cached: the next request tries again.
- Each type (embedding, reranker) has its own limit. Loading a model into a full type first
  unloads the least recently used *idle* model of that type, and waits for that unload to finish
  before loading, so peak memory stays at the limit.
- A model in use is never unloaded. When every model of the type is busy, the new model is
  loaded anyway and the type is over its limit for a while: waiting could deadlock (a request
  holding one model while asking for another) and would stall a request behind others. The
  excess is trimmed (LRU, idle only) as soon as requests release their models.
- Every use refreshes the TTL; an idle model whose TTL ran out is unloaded by ``sweep`` (run
  by the background sweeper). ``keep_alive`` (Ollama) sets the TTL of that model from this use
  on: seconds; 0 unloads it as soon as no request uses it; negative never expires.
- Unloading goes through the engine port, which frees the memory (MLX's buffer cache).

Everything runs on the event loop; the bookkeeping between awaits is synchronous, so no lock
is needed. Only the engines' own ``load``/``unload`` await.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from loguru import logger as log

from mlx_serve.domain.errors import MlxServeError, ModelLoadError
from mlx_serve.domain.metrics import NO_METRICS, InferenceObserver
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.ports import Clock, EmbeddingEngine, Reranker


@dataclass(frozen=True)
class ResidentModel:
    """A model in memory, as ``/api/ps`` and ``/health`` show it."""

    info: ModelInfo
    expires_at: float | None  # Unix seconds; None: never expires (keep_alive < 0)
    memory_bytes: int
    in_use: int = 0
    # What runs it ("mlx", "onnxruntime"), where the loaded model says (its ``engine``).
    engine: str | None = None


class _Entry:
    def __init__(self, info: ModelInfo, ttl: float | None, now: float) -> None:
        self.info = info
        self.model: Any = None  # set once loaded
        self.task: asyncio.Task[Any] | None = None
        self.users = 0
        self.ttl = ttl  # None: never expires
        self.last_used = now
        self.expires: float | None = None  # monotonic deadline once idle
        self.doomed = False  # unload as soon as no request uses it

    def touch(self, now: float, ttl: float | None) -> None:
        self.ttl = ttl
        self.last_used = now
        self.expires = None if ttl is None else now + ttl


class ModelResidencyCache:
    def __init__(
        self,
        embedding_engine: EmbeddingEngine,
        reranker: Reranker,
        clock: Clock,
        max_embedding_models: int,
        max_reranker_models: int,
        ttl_seconds: float,
        *,
        sweep_interval_seconds: float = 1.0,
        observer: InferenceObserver = NO_METRICS,
    ) -> None:
        self._engines: dict[ModelType, Any] = {
            ModelType.EMBEDDING: embedding_engine,
            ModelType.RERANKER: reranker,
        }
        self._limits = {
            ModelType.EMBEDDING: max_embedding_models,
            ModelType.RERANKER: max_reranker_models,
        }
        self._clock = clock
        self._ttl = ttl_seconds
        self._sweep_interval = sweep_interval_seconds
        self._entries: dict[str, _Entry] = {}
        self._unloading: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._observer = observer  # loads, load time, unloads (evictions)

    # -- using models -------------------------------------------------------------------

    @asynccontextmanager
    async def use(self, info: ModelInfo, *, keep_alive: float | None = None) -> AsyncIterator[Any]:
        """Yield the loaded model (LoadedEmbeddingModel or LoadedReranker by ``info.type``).

        ``keep_alive``: None = the configured TTL; seconds; 0 = unload after this request;
        negative = never expire. Raises ModelLoadError (or the engine's error) when loading fails.
        """
        entry = await self._acquire(info, keep_alive)
        try:
            yield entry.model
        finally:
            entry.users -= 1
            entry.touch(self._clock.now(), entry.ttl)
            self._settle(entry)

    async def preload(self, info: ModelInfo, *, keep_alive: float | None = None) -> None:
        """Load the model now (server start); raises what ``use`` raises."""
        async with self.use(info, keep_alive=keep_alive):
            pass

    async def _acquire(self, info: ModelInfo, keep_alive: float | None) -> _Entry:
        ttl = self._ttl if keep_alive is None else (None if keep_alive < 0 else keep_alive)
        now = self._clock.now()
        entry = self._entries.get(info.name)
        if entry is None:
            entry = _Entry(info, ttl, now)
            self._entries[info.name] = entry
            entry.task = asyncio.get_running_loop().create_task(self._load(entry))
            # Waiters retrieve the exception; this stops "never retrieved" noise if all left.
            entry.task.add_done_callback(lambda t: t.cancelled() or t.exception())
        entry.users += 1
        entry.touch(now, ttl)
        assert entry.task is not None
        try:
            # shield: a waiter that is cancelled (client gone) must not cancel the shared load.
            await asyncio.shield(entry.task)
        except BaseException:
            entry.users -= 1
            raise
        return entry

    async def _load(self, entry: _Entry) -> None:
        name, kind = entry.info.name, entry.info.type
        try:
            previous = self._unloading.get(name)
            if previous is not None:  # an older copy of this model is still being unloaded
                await asyncio.gather(previous, return_exceptions=True)
            victims = [self._schedule_unload(v) for v in self._victims(kind, exclude=entry)]
            if victims:
                await asyncio.gather(*victims, return_exceptions=True)
            began = self._clock.now()
            entry.model = await self._engines[kind].load(entry.info)
            self._observer.model_loaded(name, kind.value, self._clock.now() - began)
        except BaseException as exc:
            if self._entries.get(name) is entry:
                del self._entries[name]
            log.warning("loading model '{}' failed", name)
            if isinstance(exc, Exception) and not isinstance(exc, MlxServeError):
                # A corrupt or truncated file: name the model, not a bare internal error.
                raise ModelLoadError(
                    f"model '{name}' cannot be loaded ({type(exc).__name__}: {exc}); "
                    "pull it again with force"
                ) from exc
            if isinstance(exc, ModelLoadError) and f"'{name}'" not in exc.message:
                raise ModelLoadError(
                    f"model '{name}' cannot be loaded: {exc.message}; pull it again with force"
                ) from exc
            raise
        log.info("loaded {} model '{}'", kind.value, name)
        self._settle(entry)  # every waiter may have left while it loaded

    # -- unloading ----------------------------------------------------------------------

    def _settle(self, entry: _Entry) -> None:
        """After a release: unload the entry if it must go, then trim its type to the limit."""
        if entry.users > 0 or entry.model is None:
            return
        if entry.doomed or entry.ttl == 0:
            self._schedule_unload(entry)
        for victim in self._victims(entry.info.type):
            self._schedule_unload(victim)

    def _victims(self, kind: ModelType, exclude: _Entry | None = None) -> list[_Entry]:
        """Idle loaded models of ``kind`` to unload so the type fits its limit, LRU first."""
        same = [e for e in self._entries.values() if e.info.type is kind]
        excess = len(same) - self._limits[kind]
        idle = sorted(
            (e for e in same if e is not exclude and e.users == 0 and e.model is not None),
            key=lambda e: e.last_used,
        )
        return idle[: max(excess, 0)]

    def _schedule_unload(self, entry: _Entry) -> asyncio.Task[None]:
        name = entry.info.name
        if self._entries.get(name) is entry:
            del self._entries[name]
        task = asyncio.get_running_loop().create_task(self._unload_entry(entry))
        self._unloading[name] = task
        task.add_done_callback(
            lambda t: self._unloading.pop(name) if self._unloading.get(name) is t else None
        )
        return task

    async def _unload_entry(self, entry: _Entry) -> None:
        try:
            await self._engines[entry.info.type].unload(entry.model)
            log.info("unloaded {} model '{}'", entry.info.type.value, entry.info.name)
        except Exception:  # the entry is gone either way; keep serving
            log.exception("unloading model '{}' failed", entry.info.name)
        if entry.model is not None:
            self._observer.model_unloaded(entry.info.name, entry.info.type.value)

    async def unload(self, name: str) -> bool:
        """Unload the model called ``name`` (exact, else case-insensitive); False if not resident.

        A model in use is unloaded when its last request finishes; this does not wait for it.
        """
        entry = self._entries.get(name) or next(
            (e for n, e in self._entries.items() if n.casefold() == name.casefold()), None
        )
        if entry is None:
            return False
        if entry.users > 0 or entry.model is None:
            entry.doomed = True
            del self._entries[entry.info.name]  # new requests load a fresh copy
            return True
        await self._schedule_unload(entry)
        return True

    async def sweep(self) -> list[str]:
        """Unload idle models whose TTL has run out; returns their names."""
        now = self._clock.now()
        expired = [
            e
            for e in self._entries.values()
            if e.users == 0 and e.model is not None and e.expires is not None and e.expires <= now
        ]
        for entry in expired:
            self._schedule_unload(entry)
        await self._wait_unloads()
        return [e.info.name for e in expired]

    async def _wait_unloads(self) -> None:
        while self._unloading:
            await asyncio.gather(*list(self._unloading.values()), return_exceptions=True)

    # -- introspection and lifetime -----------------------------------------------------

    def loaded(self) -> list[ResidentModel]:
        """Models in memory, most recently used first."""
        now, wall = self._clock.now(), self._clock.wall()
        entries = sorted(
            (e for e in self._entries.values() if e.model is not None),
            key=lambda e: e.last_used,
            reverse=True,
        )
        return [
            ResidentModel(
                info=e.info,
                expires_at=None if e.expires is None else wall + (e.expires - now),
                memory_bytes=int(getattr(e.model, "memory_bytes", 0)),
                in_use=e.users,
                engine=getattr(e.model, "engine", None),
            )
            for e in entries
        ]

    def start_sweeper(self) -> None:
        """Start the background task that calls ``sweep`` every ``sweep_interval_seconds``."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                await self.sweep()
            except Exception:  # never let one bad unload stop the sweeper
                log.exception("model cache sweep failed")

    async def close(self) -> None:
        """Stop the sweeper and unload every model (server shutdown, after the drain)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        loads = [e.task for e in self._entries.values() if e.task is not None]
        await asyncio.gather(*loads, return_exceptions=True)
        for entry in list(self._entries.values()):
            if entry.model is not None:
                self._schedule_unload(entry)
        await self._wait_unloads()
