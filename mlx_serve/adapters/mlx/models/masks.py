"""Additive attention masks, built one way for every family.

Masked positions get a large finite negative, not -inf: a query row that sees no real key
(left padding under a causal mask) would softmax to NaN, and NaN leaks into real rows
through ``0 * NaN`` in later matmuls. Half the dtype's max, so adding a score cannot
overflow to -inf either.
"""

from __future__ import annotations

import mlx.core as mx


def masked_value(dtype: mx.Dtype) -> float:
    """The additive value of a masked position in ``dtype``."""
    return -0.5 * float(mx.finfo(dtype).max)


def additive(keep: mx.array, dtype: mx.Dtype) -> mx.array:
    """A boolean "may attend" mask as the additive mask every attention here takes."""
    return mx.where(keep, mx.array(0, dtype=dtype), mx.array(masked_value(dtype), dtype=dtype))


def padding_mask(attention_mask: mx.array, dtype: mx.Dtype) -> mx.array:
    """(batch, 1, 1, length): 0 on real keys, masked_value on padding (bidirectional)."""
    return additive(attention_mask[:, None, None, :] > 0, dtype)


def causal_padding_mask(attention_mask: mx.array, dtype: mx.Dtype) -> mx.array:
    """(batch, 1, length, length): causal, and hiding padding keys."""
    length = attention_mask.shape[1]
    causal = mx.tril(mx.ones((length, length), dtype=mx.bool_))
    return additive(causal[None, None, :, :] & (attention_mask[:, None, None, :] > 0), dtype)
