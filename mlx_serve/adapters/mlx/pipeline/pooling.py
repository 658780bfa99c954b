"""Forward passes to last hidden states and sentence pooling, per model family.

Run on the compute thread. Inputs are padded int32 ids and a {0,1} mask; BERT-family models
are right-padded, Qwen3 left-padded (its last real token is then at position -1 of every row).
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.convert.checkpoint import Pooling
from mlx_serve.adapters.mlx.runtime.fast_ops import fast_gelu, fast_softmax

LEFT_PADDED = frozenset({"qwen3"})


def masked_value(dtype: mx.Dtype) -> float:
    """A large finite negative for additive masks.

    Not -inf: a fully masked (padding) query row would softmax to NaN, and NaN leaks into
    real rows through 0 * NaN in later matmuls. Half the dtype's max so adding a score
    cannot overflow to -inf either.
    """
    return -0.5 * float(mx.finfo(dtype).max)


def hidden_states(family: str, backbone: nn.Module, ids: mx.array, mask: mx.array) -> mx.array:
    """Last hidden states (batch, length, hidden) in the backbone's dtype."""
    dtype = _param_dtype(backbone)
    if family == "qwen3":
        length = ids.shape[1]
        causal = mx.tril(mx.ones((length, length), dtype=mx.bool_))
        allowed = causal[None, None, :, :] & (mask[:, None, None, :] > 0)
        additive = mx.where(allowed, 0.0, masked_value(dtype)).astype(dtype)
        return backbone(ids, attention_mask=additive)
    additive = ((1.0 - mask.astype(dtype)) * masked_value(dtype))[:, None, None, :]
    embedded = backbone.embeddings(ids, mx.zeros_like(ids))
    output = backbone.encoder(embedded, additive)
    return output[0] if isinstance(output, tuple) else output


def pool(states: mx.array, mask: mx.array, pooling: Pooling, *, left_padded: bool) -> mx.array:
    """One float32 vector per row, as sentence-transformers' Pooling (+ Normalize) computes."""
    states = states.astype(mx.float32)
    weights = mask.astype(mx.float32)[:, :, None]
    if pooling.mode == "cls":
        vectors = states[:, 0]
    elif pooling.mode == "mean":
        vectors = (states * weights).sum(axis=1) / mx.maximum(weights.sum(axis=1), 1e-9)
    elif pooling.mode == "max":
        vectors = mx.where(weights > 0, states, -1e9).max(axis=1)
    elif left_padded:
        vectors = states[:, -1]
    else:
        last = mask.astype(mx.int32).sum(axis=1) - 1
        vectors = mx.take_along_axis(states, last[:, None, None], axis=1)[:, 0]
    return normalize(vectors) if pooling.normalize else vectors


def normalize(vectors: mx.array) -> mx.array:
    """L2-normalise rows (eps 1e-12 as torch.nn.functional.normalize)."""
    norms = mx.sqrt((vectors * vectors).sum(axis=-1, keepdims=True))
    return vectors / mx.maximum(norms, 1e-12)


def use_fast_cpu_ops(family: str, backbone: nn.Module, config: dict) -> bool:
    """Swap the exact GELU (and BERT's attention softmax) for vectorised versions (fast_ops).

    Only for float32 on the CPU, where MLX's transcendental functions are scalar; the
    approximations agree with the exact functions within ~1e-6. Returns whether it swapped.
    """
    if family not in ("bert", "xlm_roberta") or config.get("hidden_act", "gelu") != "gelu":
        return False
    for layer in backbone.encoder.layer:
        layer.intermediate.__class__ = _FastIntermediate
        if family == "bert":
            layer.attention.self.__class__ = _FastBertSelfAttention
    return True


def _param_dtype(backbone: nn.Module) -> mx.Dtype:
    norm = backbone.norm if hasattr(backbone, "norm") else backbone.embeddings.LayerNorm
    return norm.weight.dtype


class _FastIntermediate(nn.Module):
    """BertIntermediate / XLMRobertaIntermediate with the fast GELU (same parameters)."""

    def __call__(self, hidden: mx.array) -> mx.array:
        return fast_gelu(self.dense(hidden))


class _FastBertSelfAttention(nn.Module):
    """mlx-embeddings' BertSelfAttention with the vectorised softmax (same parameters)."""

    def __call__(self, hidden: mx.array, attention_mask: mx.array | None = None) -> mx.array:
        batch, length, _ = hidden.shape
        heads, size = self.num_attention_heads, self.attention_head_size

        def split(x: mx.array) -> mx.array:
            return x.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

        query = split(self.query(hidden)) * (size ** -0.5)
        scores = query @ split(self.key(hidden)).transpose(0, 1, 3, 2)
        if attention_mask is not None:
            scores = scores + attention_mask
        context = fast_softmax(scores, axis=-1) @ split(self.value(hidden))
        return context.transpose(0, 2, 1, 3).reshape(batch, length, heads * size)
