"""Qwen3 decoder backbone (Qwen3-Embedding and the Qwen3-Reranker's causal LM body).

Parameter names are ``Qwen3Model``'s (``embed_tokens``, ``layers.N.*``, ``norm``): the
embedding checkpoints store them bare, the rerankers' ``Qwen3ForCausalLM`` under ``model.``
with ``lm_head`` beside (kept as a head; the reranker reads only its yes/no rows, decision
0009). Attention is causal, with grouped KV heads, RMS-normed queries and keys and RoPE,
all through MLX's fused kernels. Batches are left-padded; RoPE depends only on position
differences, so left padding shifts nothing.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.models.masks import causal_padding_mask

PREFIX = "model."


def rope_theta(config: dict[str, Any]) -> float:
    """RoPE base: top-level ``rope_theta`` or transformers 5's ``rope_parameters``."""
    theta = config.get("rope_theta")
    if theta is None:
        theta = (config.get("rope_parameters") or {}).get("rope_theta", 1_000_000.0)
    return float(theta)


class Attention(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        self.num_heads = int(config["num_attention_heads"])
        self.num_key_value_heads = int(config.get("num_key_value_heads") or self.num_heads)
        self.head_dim = int(config.get("head_dim") or hidden // self.num_heads)
        bias = bool(config.get("attention_bias", False))
        eps = float(config.get("rms_norm_eps", 1e-6))
        self.q_proj = nn.Linear(hidden, self.num_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(hidden, self.num_key_value_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(hidden, self.num_key_value_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, hidden, bias=bias)
        self.q_norm = nn.RMSNorm(self.head_dim, eps=eps)
        self.k_norm = nn.RMSNorm(self.head_dim, eps=eps)
        self.rotary_emb = nn.RoPE(self.head_dim, traditional=False, base=rope_theta(config))

    def __call__(self, x: mx.array, mask: mx.array) -> mx.array:
        batch, length, _ = x.shape

        def heads(t: mx.array, count: int) -> mx.array:
            return t.reshape(batch, length, count, self.head_dim).transpose(0, 2, 1, 3)

        q = self.rotary_emb(self.q_norm(heads(self.q_proj(x), self.num_heads)))
        k = self.rotary_emb(self.k_norm(heads(self.k_proj(x), self.num_key_value_heads)))
        v = heads(self.v_proj(x), self.num_key_value_heads)
        # The fused kernel handles grouped KV heads itself (no repeat of keys/values).
        out = mx.fast.scaled_dot_product_attention(q, k, v, scale=self.head_dim ** -0.5,
                                                   mask=mask)
        return self.o_proj(out.transpose(0, 2, 1, 3).reshape(batch, length, -1))


class MLP(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden, inner = int(config["hidden_size"]), int(config["intermediate_size"])
        self.gate_proj = nn.Linear(hidden, inner, bias=False)
        self.up_proj = nn.Linear(hidden, inner, bias=False)
        self.down_proj = nn.Linear(inner, hidden, bias=False)

    def __call__(self, x: mx.array) -> mx.array:
        return self.down_proj(nn.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden, eps = int(config["hidden_size"]), float(config.get("rms_norm_eps", 1e-6))
        self.self_attn = Attention(config)
        self.mlp = MLP(config)
        self.input_layernorm = nn.RMSNorm(hidden, eps=eps)
        self.post_attention_layernorm = nn.RMSNorm(hidden, eps=eps)

    def __call__(self, x: mx.array, mask: mx.array) -> mx.array:
        x = x + self.self_attn(self.input_layernorm(x), mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Model(nn.Module):
    """Qwen3Model: final-normed hidden states of left-padded batches."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        self.embed_tokens = nn.Embedding(int(config["vocab_size"]), hidden)
        self.layers = [DecoderLayer(config) for _ in range(int(config["num_hidden_layers"]))]
        self.norm = nn.RMSNorm(hidden, eps=float(config.get("rms_norm_eps", 1e-6)))

    def __call__(self, input_ids: mx.array, attention_mask: mx.array) -> mx.array:
        x = self.embed_tokens(input_ids)
        mask = causal_padding_mask(attention_mask, x.dtype)
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)


def sanitize(weights: dict[str, mx.array], config: dict[str, Any]) -> dict[str, mx.array]:
    """Qwen3Model (bare) or Qwen3ForCausalLM (``model.`` + ``lm_head``) names to ours."""
    out: dict[str, mx.array] = {}
    for key, value in weights.items():
        name = key[len(PREFIX):] if key.startswith(PREFIX) else key
        if "rotary_emb." in name:
            continue
        out[name] = value
    return out
