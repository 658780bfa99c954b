"""Pieces shared by our rotary encoders (ModernBERT, NomicBERT, Gemma3 text).

Inputs are right-padded rows with a {0,1} mask; positions are 0..L-1 in every row, as the
reference models number them, so a real token's position does not depend on padding.
"""

from __future__ import annotations

from collections.abc import Callable

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.models.masks import masked_value


def attention_bias(mask: mx.array, dtype: mx.Dtype, *, window: int | None = None,
                   causal: bool = False) -> mx.array:
    """Additive bias (batch, 1, L, L) for scaled_dot_product_attention.

    Key j is visible to query i when it is a real token (mask 1), and, with ``window``,
    when |i - j| <= window (bidirectional sliding window); ``causal`` also needs j <= i.
    """
    allowed = (mask > 0)[:, None, None, :]
    if window is not None or causal:
        length = mask.shape[1]
        positions = mx.arange(length)
        distance = positions[:, None] - positions[None, :]  # i - j
        local = mx.ones((length, length), dtype=mx.bool_)
        if window is not None:
            local = mx.abs(distance) <= window
        if causal:
            local = local & (distance >= 0)
        allowed = allowed & local[None, None]
    return mx.where(allowed, 0.0, masked_value(dtype)).astype(dtype)


def gelu_tanh(x: mx.array) -> mx.array:
    """GELU with the tanh approximation, as torch's ``gelu(approximate="tanh")``."""
    return nn.gelu_approx(x)


ACTIVATIONS: dict[str, Callable[[mx.array], mx.array]] = {
    "gelu": nn.gelu,
    "gelu_python": nn.gelu,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_new": gelu_tanh,
    "gelu_fast": gelu_tanh,
    "silu": nn.silu,
    "swish": nn.silu,
    "relu": nn.relu,
}


def activation(name: str) -> Callable[[mx.array], mx.array]:
    """The activation a Hugging Face config names; ValueError for one we do not know."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"activation '{name}' is not supported") from None


def rope_settings(parameters: dict | None, default_theta: float) -> tuple[float, float]:
    """(base, position scale) for mx.fast.rope from a ``rope_parameters`` entry.

    Only the default and linear RoPE types exist in the checkpoints we serve; others are
    refused rather than run wrongly.
    """
    parameters = parameters or {}
    kind = parameters.get("rope_type", parameters.get("type", "default")) or "default"
    base = float(parameters.get("rope_theta", default_theta))
    if kind == "default":
        return base, 1.0
    if kind == "linear":
        return base, 1.0 / float(parameters["factor"])
    raise ValueError(f"rope type '{kind}' is not supported")


def replace_activation(model: nn.Module, old: Callable[[mx.array], mx.array],
                       new: Callable[[mx.array], mx.array]) -> int:
    """Swap every MLP activation ``old`` for ``new`` (e.g. the exact GELU for fast_ops'
    vectorised one on the CPU, see decision 8); returns how many were swapped."""
    swapped = 0
    for _, module in model.named_modules():
        if getattr(module, "act", None) is old:
            module.act = new
            swapped += 1
    return swapped
