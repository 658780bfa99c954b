"""Qwen3 forward pass that computes the prompt shared by every pair of a request only once.

Every Qwen3-Reranker pair of one request starts with the same tokens: the system prefix, the
instruction, the query and ``<Document>:`` (often a third of the pair or more). Their keys
and values do not depend on what follows (causal attention), so they are computed once per
request and every batch of document tails attends to them. Token ids are exactly the
recipe's (the shared head is the common prefix of the pairs' ids, found after encoding).

Positions: the head takes 0..h-1 and each tail continues at h, as if unpadded. The official
code left-pads and counts positions from the padding, which shifts a row's positions by a
constant; RoPE attention depends only on position differences, so the scores agree (the
parity tests hold this path to the transformers reference).

Runs on the compute thread, with the layers of models/qwen3.py's ``Model``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.models.masks import additive

KV = tuple[mx.array, mx.array]


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Tokens shared by every row, leaving at least one token of each row as its tail."""
    shortest = min(len(row) for row in rows)
    first = rows[0]
    length = 0
    while length < shortest - 1 and all(row[length] == first[length] for row in rows):
        length += 1
    return length


def _attention(
    attn: nn.Module, x: mx.array, head: KV | None, offset: int, mask: mx.array | None
) -> tuple[mx.array, KV]:
    """models/qwen3.py's Attention with an offset and a cached head prepended."""
    batch, length, _ = x.shape

    def heads(t: mx.array, count: int) -> mx.array:
        return t.reshape(batch, length, count, attn.head_dim).transpose(0, 2, 1, 3)

    q = attn.q_norm(heads(attn.q_proj(x), attn.num_heads))
    k = attn.k_norm(heads(attn.k_proj(x), attn.num_key_value_heads))
    v = heads(attn.v_proj(x), attn.num_key_value_heads)
    q = attn.rotary_emb(q, offset=offset)
    k = attn.rotary_emb(k, offset=offset)
    own = (k, v)
    if head is not None:
        shape = (batch, *head[0].shape[1:])
        k = mx.concatenate([mx.broadcast_to(head[0], shape), k], axis=2)
        v = mx.concatenate([mx.broadcast_to(head[1], shape), v], axis=2)
    # MLX's attention handles grouped KV heads itself: no repeat of keys/values needed.
    out = mx.fast.scaled_dot_product_attention(
        q, k, v, scale=1.0 / math.sqrt(attn.head_dim), mask=mask
    )
    out = out.transpose(0, 2, 1, 3).reshape(batch, length, -1)
    return attn.o_proj(out), own


def _layer(
    layer: nn.Module, x: mx.array, head: KV | None, offset: int, mask: mx.array | None
) -> tuple[mx.array, KV]:
    attended, kv = _attention(layer.self_attn, layer.input_layernorm(x), head, offset, mask)
    x = x + attended
    return x + layer.mlp(layer.post_attention_layernorm(x)), kv


def head_cache(body: nn.Module, ids: Sequence[int]) -> list[KV]:
    """Keys and values of the shared head, per layer (one causal pass over one row)."""
    length = len(ids)
    x = body.embed_tokens(mx.array([list(ids)]))
    mask = additive(mx.tril(mx.ones((length, length), dtype=mx.bool_)), x.dtype)[None, None]
    cache: list[KV] = []
    for layer in body.layers:
        x, kv = _layer(layer, x, None, 0, mask)
        cache.append(kv)
    mx.eval(cache)
    return cache


def last_hidden(
    body: nn.Module, cache: list[KV], ids: mx.array, lengths: mx.array
) -> mx.array:
    """Final hidden state at each row's last real token; rows are right-padded tails."""
    offset = int(cache[0][0].shape[2])
    batch, length = ids.shape
    x = body.embed_tokens(ids)
    positions = mx.arange(length)
    real = positions[None, :] < lengths[:, None]  # (batch, length) real keys
    causal = positions[None, :] <= positions[:, None]  # (length, length)
    allowed = causal[None, None] & real[:, None, None, :]
    tail = additive(allowed, x.dtype)
    shared = mx.zeros((batch, 1, length, offset), dtype=x.dtype)
    mask = mx.concatenate([shared, tail], axis=-1)
    for layer, head in zip(body.layers, cache, strict=True):
        x, _ = _layer(layer, x, head, offset, mask)
    last = mx.take_along_axis(x, (lengths - 1)[:, None, None], axis=1)[:, 0]
    return body.norm(last)
