"""MlxReranker: the Reranker port on MLX (Qwen3-Reranker and BERT/XLM-R cross-encoders).

Mirrors embedding/engine.py: the engine loads and unloads (``load``, ``load_blocking``,
``unload``), the loaded model scores (``rerank``, ``rerank_blocking``) and is dropped with
``release``; the work itself is a RerankSession on the shared ComputeThread, so the event loop
never blocks and reranking and embedding share one accelerator queue.
"""

from __future__ import annotations

import gc
from typing import Any

from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread
from mlx_serve.adapters.mlx.runtime.placement import Runtime
from mlx_serve.domain.errors import ModelLoadError, WrongModelType
from mlx_serve.domain.inference import RerankRequest, RerankResult
from mlx_serve.domain.metrics import NO_METRICS, InferenceObserver
from mlx_serve.domain.models import ModelInfo, ModelType

# One compute-thread job scores at most about this many token budgets of pairs (then at
# most one more pair), so other requests interleave with a large rerank between chunks.
CHUNK_BUDGETS = 2


def chunk_pairs(lengths: list[int], max_tokens: int) -> list[list[int]]:
    """Indices of pairs in length order, cut into consecutive chunks of about ``max_tokens``
    tokens each (a pair longer than that gets a chunk of its own)."""
    chunks: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for index in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if current and tokens + lengths[index] > max_tokens:
            chunks.append(current)
            current, tokens = [], 0
        current.append(index)
        tokens += lengths[index]
    if current:
        chunks.append(current)
    return chunks


class MlxLoadedReranker:
    """One reranker resident in memory (LoadedReranker port). All MLX work on ``compute``."""

    def __init__(self, info: ModelInfo, compute: ComputeThread, session: Any) -> None:
        self.info = info
        self._compute = compute
        self.session = session  # a RerankSession; only touched on the compute thread

    @property
    def memory_bytes(self) -> int:
        """Bytes of weights held in memory by this model (0 once unloaded)."""
        return self.session.memory_bytes if self.session is not None else 0

    @property
    def engine(self) -> str | None:
        """What runs the forward pass: "mlx" or "onnxruntime" (None once unloaded)."""
        return self.session.engine if self.session is not None else None

    async def rerank(self, request: RerankRequest) -> RerankResult:
        """Score every document against the query (request order), on the compute thread.

        Pairs are scored in length-sorted chunks of about ``CHUNK_BUDGETS`` token budgets,
        one compute-thread job each: work queued meanwhile (a small request) runs between
        chunks, and a caller that goes away (cancelled await) stops after the current chunk.
        """
        pairs = await self._compute.run(lambda: self._live_session().encode(request))
        scores = [0.0] * len(pairs)
        budget = CHUNK_BUDGETS * self._live_session().max_batch_tokens
        for chunk in chunk_pairs([len(p.ids) for p in pairs], budget):
            chunk_scores = await self._compute.run(
                lambda c=chunk: self._live_session().score_pairs([pairs[i] for i in c]))
            for index, score in zip(chunk, chunk_scores, strict=True):
                scores[index] = score
        return self._live_session().result(pairs, scores)

    def rerank_blocking(self, request: RerankRequest) -> RerankResult:
        """``rerank`` for synchronous callers (benchmarks, CLI); never from the event loop."""
        return self._compute.call(self._rerank_sync, request)

    def _rerank_sync(self, request: RerankRequest) -> RerankResult:
        return self._live_session().rerank(request)

    def _live_session(self) -> Any:
        if self.session is None:
            raise ModelLoadError(f"model '{self.info.name}' was unloaded")
        return self.session

    def release(self) -> None:
        """Drop the weights (compute thread)."""
        self.session = None


class MlxReranker:
    """Loads rerankers converted by MlxConverter (Reranker port); one per process."""

    def __init__(
        self,
        compute: ComputeThread,
        max_batch_tokens: int | None,
        dtype: str = "auto",
        device: str = "auto",
        *,
        share_prefix: bool = True,
        fast_cpu_ops: bool = True,
        observer: InferenceObserver = NO_METRICS,
        cpu_engine: str = "auto",
    ) -> None:
        self._compute = compute
        self._share_prefix = share_prefix
        self._runtime = Runtime(max_batch_tokens=max_batch_tokens, dtype=dtype, device=device,
                                fast_cpu_ops=fast_cpu_ops, observer=observer,
                                cpu_engine=cpu_engine)

    async def load(self, model: ModelInfo) -> MlxLoadedReranker:
        """Load the model's files on the compute thread; raises ModelLoadError,
        WrongModelType."""
        self._check_type(model)
        session = await self._compute.run(self._load_sync, model)
        return MlxLoadedReranker(model, self._compute, session)

    def load_blocking(self, model: ModelInfo) -> MlxLoadedReranker:
        """``load`` for synchronous callers."""
        self._check_type(model)
        return MlxLoadedReranker(model, self._compute,
                                 self._compute.call(self._load_sync, model))

    @staticmethod
    def _check_type(model: ModelInfo) -> None:
        if model.type is not ModelType.RERANKER:
            raise WrongModelType(model.name, model.type.value, "reranking")

    def _load_sync(self, model: ModelInfo) -> Any:
        from mlx_serve.adapters.mlx.rerank.session import RerankSession

        session = RerankSession(model.path, model.max_length, self._runtime,
                                share_prefix=self._share_prefix)
        session.warm_up()  # kernels built now, not on the first request
        return session

    async def unload(self, model: Any) -> None:
        """Drop the model's arrays and hand MLX's buffer cache back to the system."""
        await self._compute.run(self._unload_sync, model)

    @staticmethod
    def _unload_sync(model: Any) -> None:
        import mlx.core as mx

        if isinstance(model, MlxLoadedReranker):
            model.release()
        gc.collect()
        mx.clear_cache()
