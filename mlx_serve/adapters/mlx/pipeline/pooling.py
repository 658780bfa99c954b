"""Sentence pooling (sentence-transformers' Pooling) and L2 normalisation (Normalize).

Run on the compute thread. Inputs are last hidden states and the {0,1} mask of the batch;
left-padded batches (causal decoders) have their last real token at position -1 of every row.
"""

from __future__ import annotations

import mlx.core as mx

from mlx_serve.adapters.mlx.convert.checkpoint import Pooling


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
