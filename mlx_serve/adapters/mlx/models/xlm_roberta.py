"""XLM-RoBERTa (and RoBERTa): BERT's encoder with RoBERTa position ids, one token type.

Position ids count real tokens from ``padding_idx + 1`` (tokens equal to ``pad_token_id``
keep ``padding_idx``), as ``create_position_ids_from_input_ids`` does in transformers.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx

from mlx_serve.adapters.mlx.models import bert

OPTIONAL_PARAMETERS = bert.OPTIONAL_PARAMETERS  # the unused pooler
PREFIX = "roberta."


class Embeddings(bert.Embeddings):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.padding_idx = int(config.get("pad_token_id", 1))

    def positions(self, input_ids: mx.array) -> mx.array:
        return roberta_positions(input_ids, self.padding_idx)


class Model(bert.Model):
    """XLMRobertaModel: last hidden states of right-padded batches."""

    embeddings_class = Embeddings


def roberta_positions(input_ids: mx.array, padding_idx: int) -> mx.array:
    real = (input_ids != padding_idx).astype(mx.int32)
    return mx.cumsum(real, axis=1) * real + padding_idx


def sanitize(weights: dict[str, mx.array], config: dict[str, Any]) -> dict[str, mx.array]:
    """XLMRobertaModel / ...ForSequenceClassification names (``roberta.`` or bare) to ours."""
    return bert.rename(weights, PREFIX)


def classify(model: Model, hidden: mx.array, heads: dict[str, mx.array],
             config: dict[str, Any], attention_mask: mx.array | None = None) -> mx.array:
    """RobertaClassificationHead: out_proj(tanh(dense(hidden[:, 0])))."""
    x = mx.tanh(bert.linear(hidden[:, 0], heads, "classifier.dense"))
    return bert.linear(x, heads, "classifier.out_proj")
