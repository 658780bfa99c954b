"""Scaled dot-product attention and activations shared by the encoder families.

MLX's fused kernels (``mx.fast.scaled_dot_product_attention``, exact GELU) everywhere, except
on the CPU in float32 when the engine turns on ``fast_cpu_ops``: there MLX evaluates exp/erf
with scalar libm calls and the vectorised versions in runtime/fast_ops.py win (decision
0008).
"""

from __future__ import annotations

from collections.abc import Callable

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.runtime.fast_ops import fast_gelu, fast_softmax


def attend(q: mx.array, k: mx.array, v: mx.array, scale: float, mask: mx.array | None,
           *, fast_cpu_ops: bool = False) -> mx.array:
    """softmax(q k^T * scale + mask) v over (batch, heads, length, head_dim) tensors."""
    if not fast_cpu_ops:
        return mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=mask)
    scores = (q * scale) @ k.transpose(0, 1, 3, 2)
    if mask is not None:
        scores = scores + mask
    return fast_softmax(scores, axis=-1) @ v


def split_heads(x: mx.array, heads: int) -> mx.array:
    """(batch, length, heads * size) -> (batch, heads, length, size)."""
    batch, length, _ = x.shape
    return x.reshape(batch, length, heads, -1).transpose(0, 2, 1, 3)


def merge_heads(x: mx.array) -> mx.array:
    """(batch, heads, length, size) -> (batch, length, heads * size)."""
    batch, heads, length, size = x.shape
    return x.transpose(0, 2, 1, 3).reshape(batch, length, heads * size)


_ACTIVATIONS: dict[str, Callable[[mx.array], mx.array]] = {
    "gelu": nn.gelu,
    "gelu_new": nn.gelu_approx,
    "gelu_pytorch_tanh": nn.gelu_approx,
    "gelu_fast": nn.gelu_approx,
    "relu": nn.relu,
    "silu": nn.silu,
    "swish": nn.silu,
}


def activation(name: str, *, fast_cpu_ops: bool = False) -> Callable[[mx.array], mx.array]:
    """The activation a config's ``hidden_act`` names; the vectorised GELU on request."""
    if name == "gelu" and fast_cpu_ops:
        return fast_gelu
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"activation '{name}' is not supported") from None
