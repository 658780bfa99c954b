"""MlxReranker: the Reranker port on MLX (Qwen3-Reranker and BERT/XLM-R cross-encoders).

All MLX work, tokenisation included, runs on the shared ComputeThread, so the event loop
never blocks and reranking and embedding share one accelerator queue. Pairs are sorted by
length and cut into batches under the token budget (``rows * longest <= max_batch_tokens``),
like embeddings; each pair's score does not depend on its batch neighbours (padding is
masked, and with left padding RoPE only sees relative positions).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from loguru import logger

from mlx_serve.adapters.mlx.batching import pad_rows, plan_batches
from mlx_serve.adapters.mlx.checkpoint import mlx_section, read_config
from mlx_serve.adapters.mlx.compute_thread import ComputeThread
from mlx_serve.adapters.mlx.rerank_inputs import (
    CrossEncoderPairEncoder,
    EncodedPair,
    Qwen3PairEncoder,
)
from mlx_serve.adapters.mlx.runtime import Runtime
from mlx_serve.adapters.mlx.tokenization import load_tokenizer, pad_token_id
from mlx_serve.domain.errors import ModelLoadError, UnsupportedModel, WrongModelType
from mlx_serve.domain.inference import RerankRequest, RerankResult
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
    """One reranker resident in memory (LoadedReranker port)."""

    def __init__(
        self,
        info: ModelInfo,
        encoder: Qwen3PairEncoder | CrossEncoderPairEncoder,
        scorer: Any,
        pad_id: int,
        memory_bytes: int,
        compute: ComputeThread,
        max_batch_tokens: int,
        device: Any,
        share_prefix: bool = True,
    ) -> None:
        self.info = info
        self.device = device
        # Qwen3: compute the prompt head shared by all pairs once (qwen3_prefix.py).
        self.share_prefix = share_prefix
        self.encoder = encoder
        self.scorer = scorer
        self.pad_id = pad_id
        self._memory_bytes = memory_bytes
        self._compute = compute
        self._max_batch_tokens = max_batch_tokens

    @property
    def memory_bytes(self) -> int:
        """Bytes of weights held in memory by this model (0 once unloaded)."""
        return self._memory_bytes if self.scorer is not None else 0

    async def rerank(self, request: RerankRequest) -> RerankResult:
        """Score every document against the query (request order), on the compute thread.

        Pairs are scored in length-sorted chunks of about ``CHUNK_BUDGETS`` token budgets,
        one compute-thread job each: work queued meanwhile (a small request) runs between
        chunks, and a caller that goes away (cancelled await) stops after the current chunk.
        """
        pairs = await self._compute.run(self._encode, request)
        scores = [0.0] * len(pairs)
        for chunk in chunk_pairs([len(p.ids) for p in pairs],
                                 CHUNK_BUDGETS * self._max_batch_tokens):
            chunk_scores = await self._compute.run(self.score_pairs, [pairs[i] for i in chunk])
            for index, score in zip(chunk, chunk_scores, strict=True):
                scores[index] = score
        return self._result(pairs, scores)

    def _encode(self, request: RerankRequest) -> list[EncodedPair]:
        return self.encoder.encode(
            request.query, request.documents, request.instruction, request.max_tokens_per_doc
        )

    @staticmethod
    def _result(pairs: list[EncodedPair], scores: list[float]) -> RerankResult:
        return RerankResult(
            scores=scores,
            prompt_tokens=sum(len(pair.ids) for pair in pairs),
            truncated_documents=sum(pair.truncated for pair in pairs),
        )

    def rerank_sync(self, request: RerankRequest) -> RerankResult:
        """``rerank`` for callers already on the compute thread (benchmarks, tests)."""
        pairs = self._encode(request)
        return self._result(pairs, self.score_pairs(pairs))

    def score_pairs(self, pairs: list[EncodedPair]) -> list[float]:
        """Scores of encoded pairs in their order, in length-sorted token-budget batches."""
        import mlx.core as mx

        if self.scorer is None:
            raise ModelLoadError(f"model '{self.info.name}' was unloaded")
        with mx.stream(self.device):
            if self.share_prefix and hasattr(self.scorer, "score_shared"):
                rows = [pair.ids for pair in pairs]
                shared = self.scorer.score_shared(rows, self._max_batch_tokens)
                if shared is not None:
                    return shared
            return self._score_batches(pairs)

    def _score_batches(self, pairs: list[EncodedPair]) -> list[float]:
        import mlx.core as mx

        scores = [0.0] * len(pairs)
        left = self.scorer.left_padding
        for batch in plan_batches([len(p.ids) for p in pairs], self._max_batch_tokens):
            rows = [pairs[i].ids for i in batch.indices]
            ids, mask = pad_rows(rows, batch.length, self.pad_id, left=left)
            type_ids = None
            if pairs[batch.indices[0]].type_ids is not None:
                types = [pairs[i].type_ids or [] for i in batch.indices]
                type_ids = mx.array(pad_rows(types, batch.length, 0, left=left)[0])
            batch_scores = self.scorer(mx.array(ids), mx.array(mask), type_ids)
            for index, score in zip(batch.indices, batch_scores, strict=True):
                scores[index] = float(score)
        return scores


class MlxReranker:
    """Loads rerankers converted by MlxConverter (Reranker port)."""

    def __init__(
        self,
        compute: ComputeThread,
        max_batch_tokens: int | None,
        dtype: str = "auto",
        device: str = "auto",
        *,
        share_prefix: bool = True,
    ) -> None:
        self._compute = compute
        self._share_prefix = share_prefix
        self._runtime = Runtime(max_batch_tokens=max_batch_tokens, dtype=dtype, device=device)

    async def load(self, model: ModelInfo) -> MlxLoadedReranker:
        """Load the model's files on the compute thread; raises ModelLoadError."""
        return await self._compute.run(self.load_sync, model)

    async def unload(self, model: MlxLoadedReranker) -> None:  # type: ignore[override]
        """Drop the model's arrays and hand MLX's buffer cache back to the system."""
        await self._compute.run(self._unload_sync, model)

    def load_sync(self, model: ModelInfo) -> MlxLoadedReranker:
        """``load`` for callers on the compute thread (or with no event loop)."""
        if model.type is not ModelType.RERANKER:
            raise WrongModelType(model.name, model.type.value, "reranking")
        import mlx.core as mx

        from mlx_serve.adapters.mlx.loading import load_module
        from mlx_serve.adapters.mlx.rerank_models import CrossEncoderScorer, Qwen3Scorer

        directory = Path(model.path)
        device = self._runtime.mlx_device()
        family = str((mlx_section(read_config(directory)) or {}).get("family"))
        dtype = self._runtime.compute_dtype(family)
        with mx.stream(device):
            module = load_module(directory, dtype)
        tokenizer = load_tokenizer(directory)
        pad_id = pad_token_id(directory, tokenizer)
        max_length = model.max_length
        encoder: Qwen3PairEncoder | CrossEncoderPairEncoder
        if module.family == "qwen3":
            encoder = Qwen3PairEncoder(tokenizer, max_length)
            scorer: Any = Qwen3Scorer(module, encoder.yes_id, encoder.no_id)
        elif module.family in ("bert", "xlm_roberta"):
            types = int(module.config.get("type_vocab_size", 1)) > 1
            encoder = CrossEncoderPairEncoder(tokenizer, max_length, use_token_types=types)
            fast = device == mx.cpu and dtype == mx.float32
            scorer = CrossEncoderScorer(module, fast_cpu_ops=fast)
        else:
            raise UnsupportedModel(f"no reranker recipe for the {module.family} family")
        loaded = MlxLoadedReranker(
            model,
            encoder,
            scorer,
            pad_id,
            module.memory_bytes,
            self._compute,
            self._runtime.batch_tokens(),
            device,
            self._share_prefix,
        )
        # Build the kernels now (MLX compiles them on first use), not on the first request.
        loaded.score_pairs(encoder.encode("warm up", ["the kernels"], None, None))
        logger.info(
            "loaded reranker {} ({}, {}, max {} tokens, {} MB)",
            model.name,
            module.family,
            dtype,
            max_length,
            module.memory_bytes // 2**20,
        )
        return loaded

    @staticmethod
    def _unload_sync(model: MlxLoadedReranker) -> None:
        import mlx.core as mx

        model.scorer = None
        gc.collect()
        mx.clear_cache()
