"""MLX forward passes of the reranker families: padded token batches in, scores in [0, 1] out.

Call everything here on the compute thread (MLX arrays belong to the thread that made them).
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from mlx_serve.adapters.mlx.models.loading import LoadedModule, use_fast_cpu_ops
from mlx_serve.adapters.mlx.rerank.qwen3_prefix import common_prefix_length, head_cache, last_hidden
from mlx_serve.adapters.mlx.runtime.batching import pad_rows, plan_batches
from mlx_serve.domain.errors import ModelLoadError

# Labels that mean "relevant" in the id2label of multi-label cross-encoders.
POSITIVE_LABELS = {"1", "label_1", "yes", "true", "relevant", "positive", "entailment"}


class Qwen3Scorer:
    """Qwen3-Reranker: P(yes) from the ``yes``/``no`` logits at the last position.

    Only the two rows of the output projection are kept (``lm_head``, or the input
    embedding matrix when the checkpoint ties them): projecting onto the whole 151k
    vocabulary would cost more than a transformer layer and use none of it.
    """

    left_padding = True

    def __init__(self, module: LoadedModule, yes_id: int, no_id: int) -> None:
        self.body = module.backbone
        tied = bool(module.config.get("tie_word_embeddings", False))
        head = module.heads.get("lm_head.weight")
        if head is None and not tied:
            raise ModelLoadError(
                "this Qwen3 reranker has no lm_head weights (convert it again with "
                "--type reranker from the original checkpoint)"
            )
        if head is None:
            head = self._embedding_rows(yes_id, no_id)
        else:
            head = head[mx.array([yes_id, no_id])]
        # (hidden, 2) in float32: the two logits decide the score, keep them precise.
        self.yes_no = mx.contiguous(head.astype(mx.float32).T)
        mx.eval(self.yes_no)
        # The full lm_head (vocab x hidden) is no longer needed: drop it from memory.
        module.heads = {}

    def _embedding_rows(self, yes_id: int, no_id: int) -> mx.array:
        embedding = self.body.embed_tokens
        rows = mx.array([yes_id, no_id])
        if isinstance(embedding, nn.QuantizedEmbedding):
            return mx.dequantize(
                embedding.weight[rows],
                embedding.scales[rows],
                embedding.biases[rows],
                embedding.group_size,
                embedding.bits,
            )
        return embedding.weight[rows]

    def __call__(self, ids: mx.array, attention: mx.array, type_ids: Any = None) -> np.ndarray:
        """Scores of one left-padded batch (the official recipe's layout)."""
        hidden = self.body(ids, attention)
        return self._project(hidden[:, -1, :])

    def _project(self, last: mx.array) -> np.ndarray:
        logits = last.astype(mx.float32) @ self.yes_no  # (batch, 2): [yes, no]
        scores = mx.sigmoid(logits[:, 0] - logits[:, 1])
        return np.array(scores, dtype=np.float64)

    def score_shared(self, rows: list[list[int]], max_batch_tokens: int) -> list[float] | None:
        """Scores of full pair ids, computing their common head once (qwen3_prefix.py).

        Returns None when the rows share no head (then the plain path is as good).
        """
        shared = common_prefix_length(rows)
        if shared == 0:
            return None
        cache = head_cache(self.body, rows[0][:shared])
        tails = [row[shared:] for row in rows]
        scores = [0.0] * len(rows)
        for batch in plan_batches([len(t) for t in tails], max_batch_tokens):
            ids, _ = pad_rows([tails[i] for i in batch.indices], batch.length, 0, left=False)
            lengths = mx.array([len(tails[i]) for i in batch.indices])
            hidden = last_hidden(self.body, cache, mx.array(ids), lengths)
            for index, score in zip(batch.indices, self._project(hidden), strict=True):
                scores[index] = float(score)
        return scores


class CrossEncoderScorer:
    """Sequence classification (BERT, XLM-R, ModernBERT: the family module's ``classify``
    head over the last hidden states), then sigmoid or softmax.

    One label: sigmoid(logit). Several labels: softmax, and the probability of the label
    ``id2label`` names as relevant (``LABEL_1``, ``yes``, ``relevant``...), else label 1.
    """

    left_padding = False

    def __init__(self, module: LoadedModule, fast_cpu_ops: bool) -> None:
        self.family = module.family
        self.body = module.backbone
        self.heads = module.heads
        self.config = module.config
        self.classify = getattr(self.family.module(), "classify", None)
        if self.classify is None:
            raise ModelLoadError(f"no sequence-classification head for the "
                                 f"{self.family.name} family")
        lacking = [m for m in module.missing
                   if m.startswith(getattr(self.family.module(), "CLASSIFY_USES", ()))]
        if lacking:
            raise ModelLoadError(f"a {self.family.name} cross-encoder needs {lacking[0]}")
        weights = sorted(k for k in self.heads if k.startswith("classifier.")
                         and k.endswith("weight"))
        if not weights:
            raise ModelLoadError("the checkpoint has no classification head (classifier.*)")
        labels = {str(k): str(v) for k, v in (self.config.get("id2label") or {}).items()}
        # The last projection of the head (``classifier`` or ``classifier.out_proj``).
        self.num_labels = int(self.heads[_last_projection(weights)].shape[0])
        self.positive = self._positive_label(labels)
        if fast_cpu_ops:
            # MLX's CPU erf/exp are scalar libm; the vectorised versions agree within ~1e-6.
            use_fast_cpu_ops(self.body)

    def _positive_label(self, labels: dict[str, str]) -> int:
        if self.num_labels == 1:
            return 0
        for index, name in labels.items():
            if name.lower() in POSITIVE_LABELS:
                return int(index)
        if self.num_labels == 2:
            return 1
        raise ModelLoadError(
            f"cannot tell which of {self.num_labels} labels means relevant: {labels}"
        )

    def __call__(
        self, ids: mx.array, attention: mx.array, type_ids: mx.array | None = None
    ) -> np.ndarray:
        """Scores of one right-padded batch."""
        if self.family.token_types and type_ids is not None:
            hidden = self.body(ids, attention, token_type_ids=type_ids)
        else:
            hidden = self.body(ids, attention)
        logits = self.classify(self.body, hidden, self.heads, self.config,
                               attention_mask=attention).astype(mx.float32)
        if self.num_labels == 1:
            scores = mx.sigmoid(logits[:, 0])
        else:
            scores = mx.softmax(logits, axis=-1)[:, self.positive]
        return np.array(scores, dtype=np.float64)


def _last_projection(weights: list[str]) -> str:
    for name in ("classifier.out_proj.weight", "classifier.weight"):
        if name in weights:
            return name
    return weights[-1]
