"""MlxEmbeddingEngine: the EmbeddingEngine port on MLX (every family in models/registry.py)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread
from mlx_serve.adapters.mlx.runtime.placement import Runtime
from mlx_serve.adapters.mlx.runtime.request_merger import RequestMerger
from mlx_serve.domain.errors import ModelLoadError, WrongModelType
from mlx_serve.domain.inference import EmbedRequest, EmbedResult, TokenizeResult
from mlx_serve.domain.metrics import NO_METRICS, InferenceObserver
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.prompts import ModelPrompts


class MlxEmbeddingModel:
    """One loaded embedding model (LoadedEmbeddingModel port). All MLX work on ``compute``."""

    def __init__(self, info: ModelInfo, compute: ComputeThread, session: Any) -> None:
        self.info = info
        self._compute = compute
        self._session = session  # an EmbeddingSession; only touched on the compute thread
        # Plain data read at load, so the event loop may read it.
        self._prompts: ModelPrompts = getattr(session, "model_prompts", ModelPrompts())
        # Concurrent embed() calls are merged into shared passes (see request_merger).
        self.merger = RequestMerger(compute, self._live_session)

    async def embed(self, request: EmbedRequest) -> EmbedResult:
        """Vectors (float32 numpy matrix, request order); see the port for errors.

        Joins the model's queue: requests that arrive while the compute thread is busy
        share one pass. Cancelling the await (a client that disconnects) withdraws the request:
        not yet started, it is skipped; running, its remaining batches are dropped.
        """
        if self._compute.on_thread:  # queuing from the thread itself would deadlock
            return self._embed_sync(request)
        future = self.merger.submit(request)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:  # the client went away: drop its queued work
            future.withdraw()
            raise

    def embed_blocking(self, request: EmbedRequest) -> EmbedResult:
        """``embed`` for synchronous callers (benchmarks, CLI); never from the event loop."""
        if self._compute.on_thread:
            return self._embed_sync(request)
        return self.merger.submit(request).result()

    def _embed_sync(self, request: EmbedRequest) -> EmbedResult:
        return self._live_session().embed(request)

    def _live_session(self) -> Any:
        if self._session is None:
            raise ModelLoadError(f"model '{self.info.name}' was unloaded")
        return self._session

    async def tokenize(self, texts: list[str]) -> TokenizeResult:
        """Token ids as ``embed`` feeds them (specials included, truncated to max_length)."""
        return await self._compute.run(self._tokenize_sync, texts)

    def _tokenize_sync(self, texts: list[str]) -> TokenizeResult:
        if self._session is None:
            raise ModelLoadError(f"model '{self.info.name}' was unloaded")
        return TokenizeResult([e.ids for e in self._session.tokenizer.encode(texts)])

    @property
    def prompts(self) -> ModelPrompts:
        """The prompts of the checkpoint's config_sentence_transformers.json."""
        return self._prompts

    @property
    def memory_bytes(self) -> int:
        """Bytes of the weights in memory (0 once unloaded)."""
        return self._session.memory_bytes if self._session is not None else 0

    @property
    def engine(self) -> str | None:
        """What runs the forward pass: "mlx" or "onnxruntime" (None once unloaded)."""
        return self._session.engine if self._session is not None else None

    def release(self) -> None:
        """Drop the weights (compute thread)."""
        self._session = None


class MlxEmbeddingEngine:
    """Loads embedding models onto MLX; one instance per process, sharing one ComputeThread.

    ``max_batch_tokens`` bounds rows * padded length of one forward pass (memory and
    latency). ``dtype``: "auto" (float32 on CPU, float16/bfloat16 on GPU) or a dtype name.
    ``device``: "auto" (GPU when MLX has one), "cpu" or "gpu". ``fast_cpu_ops``: use the
    vectorised GELU/softmax approximations on the CPU (error ~1e-6; see fast_ops).
    ``cpu_engine``: "auto", "mlx" or "onnxruntime" for BERT-family encoders on the CPU
    (onnx/selection.py).
    """

    def __init__(self, compute: ComputeThread, max_batch_tokens: int | None = None,
                 dtype: str = "auto", device: str = "auto", *, fast_cpu_ops: bool = True,
                 observer: InferenceObserver = NO_METRICS, cpu_engine: str = "auto") -> None:
        self._compute = compute
        self._runtime = Runtime(max_batch_tokens=max_batch_tokens, dtype=dtype, device=device,
                                fast_cpu_ops=fast_cpu_ops, observer=observer,
                                cpu_engine=cpu_engine)

    async def load(self, model: ModelInfo) -> MlxEmbeddingModel:
        """Load weights and tokenizer on the compute thread (seconds; the first load also
        imports MLX). Raises ModelLoadError, WrongModelType."""
        if model.type is not ModelType.EMBEDDING:
            raise WrongModelType(model.name, model.type.value, "embeddings")
        session = await self._compute.run(self._load_sync, model.path, model.max_length)
        return MlxEmbeddingModel(model, self._compute, session)

    def load_blocking(self, model: ModelInfo) -> MlxEmbeddingModel:
        """``load`` for synchronous callers."""
        session = self._compute.call(self._load_sync, model.path, model.max_length)
        return MlxEmbeddingModel(model, self._compute, session)

    def _load_sync(self, path: Path, max_length: int) -> Any:
        from mlx_serve.adapters.mlx.embedding.session import EmbeddingSession

        session = EmbeddingSession(path, max_length, self._runtime)
        session.warm_up()  # kernels built now, not on the first request
        return session

    async def unload(self, model: Any) -> None:
        """Drop the model's arrays and give MLX's buffer cache back to the system."""
        await self._compute.run(self._unload_sync, model)

    def _unload_sync(self, model: Any) -> None:
        import mlx.core as mx

        if isinstance(model, MlxEmbeddingModel):
            model.release()
        gc.collect()
        mx.clear_cache()
