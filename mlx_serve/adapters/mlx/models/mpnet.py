"""MPNet (all-mpnet-base-v2): RoBERTa-style embeddings, a BERT-like encoder whose attention
adds a learned relative position bias (T5 buckets, shared by all layers), no token types.

Parameter names are ``MPNetModel``'s without the ``mpnet.`` prefix.
"""

from __future__ import annotations

import math
from typing import Any

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.models import bert
from mlx_serve.adapters.mlx.models.attention import attend, merge_heads, split_heads
from mlx_serve.adapters.mlx.models.masks import padding_mask
from mlx_serve.adapters.mlx.models.xlm_roberta import roberta_positions

OPTIONAL_PARAMETERS = bert.OPTIONAL_PARAMETERS  # the unused pooler
PREFIX = "mpnet."
MAX_DISTANCE = 128  # transformers' MPNet bucketing constant
PADDING_IDX = 1


class SelfAttention(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.scale = (hidden // self.heads) ** -0.5
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, hidden)
        self.o = nn.Linear(hidden, hidden)

    def __call__(self, x: mx.array, mask: mx.array, fast_cpu_ops: bool) -> mx.array:
        out = attend(split_heads(self.q(x), self.heads), split_heads(self.k(x), self.heads),
                     split_heads(self.v(x), self.heads), self.scale, mask,
                     fast_cpu_ops=fast_cpu_ops)
        return self.o(merge_heads(out))


class Attention(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.attn = SelfAttention(config)
        self.LayerNorm = nn.LayerNorm(int(config["hidden_size"]),
                                      eps=float(config.get("layer_norm_eps", 1e-12)))

    def __call__(self, x: mx.array, mask: mx.array, fast_cpu_ops: bool) -> mx.array:
        return self.LayerNorm(self.attn(x, mask, fast_cpu_ops) + x)


class Layer(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = bert.Intermediate(config)
        self.output = bert.DenseNorm(int(config["intermediate_size"]), config)

    def __call__(self, x: mx.array, mask: mx.array, fast_cpu_ops: bool) -> mx.array:
        attended = self.attention(x, mask, fast_cpu_ops)
        return self.output(self.intermediate(attended, fast_cpu_ops), attended)


class Encoder(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.buckets = int(config.get("relative_attention_num_buckets", 32))
        self.layer = [Layer(config) for _ in range(int(config["num_hidden_layers"]))]
        self.relative_attention_bias = nn.Embedding(self.buckets,
                                                    int(config["num_attention_heads"]))

    def position_bias(self, length: int) -> mx.array:
        """(1, heads, length, length) bias from bucketed key - query distances."""
        positions = mx.arange(length)
        relative = positions[None, :] - positions[:, None]
        values = self.relative_attention_bias(bucket(relative, self.buckets))
        return values.transpose(2, 0, 1)[None]

    def __call__(self, x: mx.array, mask: mx.array, fast_cpu_ops: bool) -> mx.array:
        mask = mask + self.position_bias(x.shape[1]).astype(x.dtype)
        for layer in self.layer:
            x = layer(x, mask, fast_cpu_ops)
        return x


def bucket(relative: mx.array, buckets: int) -> mx.array:
    """transformers' ``MPNetEncoder.relative_position_bucket`` (bidirectional T5 buckets)."""
    half = buckets // 2
    n = -relative
    result = (n < 0).astype(mx.int32) * half
    n = mx.abs(n)
    exact = half // 2
    safe = mx.maximum(n, 1).astype(mx.float32)
    large = exact + (mx.log(safe / exact) / math.log(MAX_DISTANCE / exact)
                     * (half - exact)).astype(mx.int32)
    large = mx.minimum(large, half - 1)
    return result + mx.where(n < exact, n, large)


class Embeddings(bert.Embeddings):
    """Word + RoBERTa-style position embeddings, LayerNorm; no token types."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__({**config, "type_vocab_size": 1})
        del self.token_type_embeddings
        # transformers' MPNetEmbeddings fixes padding_idx at 1 whatever pad_token_id says.
        self.padding_idx = PADDING_IDX

    def __call__(self, input_ids: mx.array, token_type_ids: mx.array | None) -> mx.array:
        positions = roberta_positions(input_ids, self.padding_idx)
        return self.LayerNorm(self.word_embeddings(input_ids)
                              + self.position_embeddings(positions))


class Model(nn.Module):
    """MPNetModel: last hidden states of right-padded batches."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)
        self.pooler = bert.Pooler(config)
        self.fast_cpu_ops = False

    def __call__(self, input_ids: mx.array, attention_mask: mx.array) -> mx.array:
        x = self.embeddings(input_ids, None)
        return self.encoder(x, padding_mask(attention_mask, x.dtype), self.fast_cpu_ops)


def sanitize(weights: dict[str, mx.array], config: dict[str, Any]) -> dict[str, mx.array]:
    """MPNetModel names (``mpnet.`` or bare) to ours."""
    return bert.rename(weights, PREFIX)
