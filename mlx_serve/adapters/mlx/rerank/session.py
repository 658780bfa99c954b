"""A loaded reranker and the recipe that turns (query, documents) into scores.

Mirrors embedding/session.py. Everything here runs on the compute thread. Pairs are sorted
by length and cut into batches under the token budget (``rows * longest <=
max_batch_tokens``), like embeddings; each pair's score does not depend on its batch
neighbours (padding is masked, and with left padding RoPE only sees relative positions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlx.core as mx
from loguru import logger

from mlx_serve.adapters.mlx.models.loading import compute_dtype_of, load_module
from mlx_serve.adapters.mlx.onnx.selection import select_engine
from mlx_serve.adapters.mlx.pipeline.tokenization import load_tokenizer, pad_token_id
from mlx_serve.adapters.mlx.rerank.inputs import (
    CrossEncoderPairEncoder,
    EncodedPair,
    Qwen3PairEncoder,
)
from mlx_serve.adapters.mlx.rerank.scorers import CrossEncoderScorer, Qwen3Scorer
from mlx_serve.adapters.mlx.runtime.batching import pad_rows, plan_batches
from mlx_serve.adapters.mlx.runtime.placement import Runtime
from mlx_serve.domain.inference import RerankRequest, RerankResult


class RerankSession:
    """Weights, tokenizer, pair encoder and scorer of one reranker, ready to score."""

    def __init__(self, directory: Path, max_length: int, runtime: Runtime, *,
                 share_prefix: bool = True) -> None:
        self.runtime = runtime
        self.name = directory.name  # the installed name: the metrics label
        self.device = runtime.mlx_device()
        dtype = compute_dtype_of(directory, runtime)
        with mx.stream(self.device):
            self.module = load_module(directory, dtype)
        # ONNX Runtime may take the backbone's place on the CPU (onnx/selection.py).
        self.engine = select_engine(self.module, runtime.cpu_engine, self.device, dtype,
                                    directory.name)
        self.max_batch_tokens = runtime.batch_tokens(self.engine)  # rows x padded length
        self.family = self.module.family.name
        tokenizer = load_tokenizer(directory)
        self.pad_id = pad_token_id(directory, tokenizer)
        # Qwen3: compute the prompt head shared by all pairs once (rerank/qwen3_prefix.py).
        self.share_prefix = share_prefix
        self.encoder: Qwen3PairEncoder | CrossEncoderPairEncoder
        self.scorer: Any
        if self.family == "qwen3":
            self.encoder = Qwen3PairEncoder(tokenizer, max_length)
            self.scorer = Qwen3Scorer(self.module, self.encoder.yes_id, self.encoder.no_id)
        else:
            types = self.module.family.token_types \
                and int(self.module.config.get("type_vocab_size", 1)) > 1
            self.encoder = CrossEncoderPairEncoder(tokenizer, max_length, use_token_types=types)
            fast = runtime.fast_cpu_ops and self.device == mx.cpu and dtype == mx.float32
            self.scorer = CrossEncoderScorer(self.module, fast_cpu_ops=fast)
        logger.info("loaded reranker {} ({}, {}, {}, max {} tokens, {} MB)", directory.name,
                    self.family, dtype, self.engine, max_length, self.memory_bytes // 2**20)

    @property
    def memory_bytes(self) -> int:
        return self.module.memory_bytes

    def rerank(self, request: RerankRequest) -> RerankResult:
        """Score every document against the query (request order)."""
        pairs = self.encode(request)
        return self.result(pairs, self.score_pairs(pairs))

    def encode(self, request: RerankRequest) -> list[EncodedPair]:
        """The request's (query, document) pairs as the model reads them, request order."""
        return self.encoder.encode(
            request.query, request.documents, request.instruction, request.max_tokens_per_doc
        )

    @staticmethod
    def result(pairs: list[EncodedPair], scores: list[float]) -> RerankResult:
        """The RerankResult of ``pairs`` scored ``scores`` (both in request order)."""
        return RerankResult(
            scores=scores,
            prompt_tokens=sum(len(pair.ids) for pair in pairs),
            truncated_documents=sum(pair.truncated for pair in pairs),
        )

    def warm_up(self) -> None:
        """Score one tiny pair, so MLX builds its kernels at load, not on the first request."""
        self.score_pairs(self.encoder.encode("warm up", ["the kernels"], None, None))

    def score_pairs(self, pairs: list[EncodedPair]) -> list[float]:
        """Scores of encoded pairs in their order, in length-sorted token-budget batches."""
        with mx.stream(self.device):
            if self.share_prefix and hasattr(self.scorer, "score_shared"):
                rows = [pair.ids for pair in pairs]
                shared = self.scorer.score_shared(rows, self.max_batch_tokens)
                if shared is not None:
                    return shared
            return self._score_batches(pairs)

    def _score_batches(self, pairs: list[EncodedPair]) -> list[float]:
        scores = [0.0] * len(pairs)
        left = self.scorer.left_padding
        for batch in plan_batches([len(p.ids) for p in pairs], self.max_batch_tokens):
            rows = [pairs[i].ids for i in batch.indices]
            ids, mask = pad_rows(rows, batch.length, self.pad_id, left=left)
            type_ids = None
            if pairs[batch.indices[0]].type_ids is not None:
                types = [pairs[i].type_ids or [] for i in batch.indices]
                type_ids = mx.array(pad_rows(types, batch.length, 0, left=left)[0])
            batch_scores = self.scorer(mx.array(ids), mx.array(mask), type_ids)
            self.runtime.observer.forward_batch(
                self.name, len(rows), batch.padded_tokens, sum(map(len, rows)))
            for index, score in zip(batch.indices, batch_scores, strict=True):
                scores[index] = float(score)
        return scores
