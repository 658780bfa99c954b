"""Gemma3 text as EmbeddingGemma runs it (``Gemma3TextModel``).

Scaled token embeddings (x sqrt(hidden)), pre- and post-norms around attention and MLP,
Gemma's RMSNorm (x * (1 + w)), RMS-normed queries and keys, grouped-query attention scaled
by ``query_pre_attn_scalar``, rotary bases per layer type, a GeGLU-tanh MLP. With
``use_bidirectional_attention`` (EmbeddingGemma) every token sees the whole row in global
layers and |i - j| <= sliding_window // 2 in local ones (``sliding_window`` as config.json
stores it); otherwise attention is causal, local layers seeing the last sliding_window keys.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.models.rotary_attention import (
    activation,
    attention_bias,
    rope_settings,
)

GLOBAL_THETA = 1_000_000.0
LOCAL_THETA = 10_000.0


def layer_types(config: dict[str, Any]) -> list[str]:
    explicit = config.get("layer_types")
    if explicit:
        return [str(t) for t in explicit]
    pattern = int(config.get("sliding_window_pattern", 6))
    return ["sliding_attention" if (i + 1) % pattern else "full_attention"
            for i in range(int(config["num_hidden_layers"]))]


def rope_of(config: dict[str, Any], kind: str) -> tuple[float, float]:
    legacy = {"full_attention": ("rope_theta", GLOBAL_THETA),
              "sliding_attention": ("rope_local_base_freq", LOCAL_THETA)}[kind]
    default = float(config.get(legacy[0]) or legacy[1])
    parameters = dict((config.get("rope_parameters") or {}).get(kind) or {})
    scaling = config.get("rope_scaling")
    if kind == "full_attention" and isinstance(scaling, dict) and not parameters:
        parameters = dict(scaling)  # older configs scale only the global layers
    return rope_settings(parameters, default)


class RMSNorm(nn.Module):
    """Gemma's RMSNorm: the weight is stored as an offset from 1."""

    def __init__(self, dims: int, eps: float) -> None:
        super().__init__()
        self.weight = mx.zeros((dims,))
        self.eps = eps

    def __call__(self, x: mx.array) -> mx.array:
        return mx.fast.rms_norm(x, 1.0 + self.weight, self.eps)


class Attention(nn.Module):
    def __init__(self, config: dict[str, Any], kind: str) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.kv_heads = int(config.get("num_key_value_heads") or self.heads)
        self.head_dim = int(config.get("head_dim") or hidden // self.heads)
        bias = bool(config.get("attention_bias", False))
        self.q_proj = nn.Linear(hidden, self.heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(self.heads * self.head_dim, hidden, bias=bias)
        eps = float(config.get("rms_norm_eps", 1e-6))
        self.q_norm = RMSNorm(self.head_dim, eps)
        self.k_norm = RMSNorm(self.head_dim, eps)
        self.scale = float(config.get("query_pre_attn_scalar") or self.head_dim) ** -0.5
        self.softcap = config.get("attn_logit_softcapping")
        self.base, self.rope_scale = rope_of(config, kind)

    def __call__(self, hidden: mx.array, bias: mx.array) -> mx.array:
        batch, length, _ = hidden.shape

        def heads(x: mx.array, count: int) -> mx.array:
            return x.reshape(batch, length, count, self.head_dim).transpose(0, 2, 1, 3)

        query = self.q_norm(heads(self.q_proj(hidden), self.heads))
        key = self.k_norm(heads(self.k_proj(hidden), self.kv_heads))
        value = heads(self.v_proj(hidden), self.kv_heads)
        query = mx.fast.rope(query, self.head_dim, traditional=False, base=self.base,
                             scale=self.rope_scale, offset=0)
        key = mx.fast.rope(key, self.head_dim, traditional=False, base=self.base,
                           scale=self.rope_scale, offset=0)
        if self.softcap:
            out = self._softcapped(query, key, value, bias)
        else:
            out = mx.fast.scaled_dot_product_attention(query, key, value, scale=self.scale,
                                                       mask=bias)
        return self.o_proj(out.transpose(0, 2, 1, 3).reshape(batch, length, -1))

    def _softcapped(self, query: mx.array, key: mx.array, value: mx.array, bias: mx.array
                    ) -> mx.array:
        """Attention with tanh logit soft-capping, which the fused kernel cannot do."""
        repeats = self.heads // self.kv_heads
        key, value = mx.repeat(key, repeats, axis=1), mx.repeat(value, repeats, axis=1)
        scores = (query * self.scale) @ key.transpose(0, 1, 3, 2)
        cap = float(self.softcap)
        scores = mx.tanh(scores / cap) * cap + bias
        return mx.softmax(scores.astype(mx.float32), axis=-1).astype(value.dtype) @ value


class MLP(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden, inner = int(config["hidden_size"]), int(config["intermediate_size"])
        self.gate_proj = nn.Linear(hidden, inner, bias=False)
        self.up_proj = nn.Linear(hidden, inner, bias=False)
        self.down_proj = nn.Linear(inner, hidden, bias=False)
        self.act = activation(str(config.get("hidden_activation", "gelu_pytorch_tanh")))

    def __call__(self, x: mx.array) -> mx.array:
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config: dict[str, Any], kind: str) -> None:
        super().__init__()
        hidden, eps = int(config["hidden_size"]), float(config.get("rms_norm_eps", 1e-6))
        self.kind = kind
        self.self_attn = Attention(config, kind)
        self.mlp = MLP(config)
        self.input_layernorm = RMSNorm(hidden, eps)
        self.post_attention_layernorm = RMSNorm(hidden, eps)
        self.pre_feedforward_layernorm = RMSNorm(hidden, eps)
        self.post_feedforward_layernorm = RMSNorm(hidden, eps)

    def __call__(self, hidden: mx.array, bias: mx.array) -> mx.array:
        attended = self.self_attn(self.input_layernorm(hidden), bias)
        hidden = hidden + self.post_attention_layernorm(attended)
        fed = self.mlp(self.pre_feedforward_layernorm(hidden))
        return hidden + self.post_feedforward_layernorm(fed)


class Model(nn.Module):
    """Gemma3TextModel: ids and {0,1} mask (right padding) to last hidden states."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.hidden_size = int(config["hidden_size"])
        self.embed_tokens = nn.Embedding(int(config["vocab_size"]), self.hidden_size)
        self.layers = [DecoderLayer(config, kind) for kind in layer_types(config)]
        self.norm = RMSNorm(self.hidden_size, float(config.get("rms_norm_eps", 1e-6)))
        self.bidirectional = bool(config.get("use_bidirectional_attention", False))
        window = config.get("sliding_window")
        self.sliding_window = int(window) if window else None

    def _biases(self, attention_mask: mx.array, dtype: mx.Dtype) -> dict[str, mx.array]:
        causal = not self.bidirectional
        biases = {"full_attention": attention_bias(attention_mask, dtype, causal=causal)}
        if self.sliding_window is not None:
            # Bidirectional: transformers keeps |i - j| < sliding_window // 2 + 1.
            # Causal: the key is one of the last sliding_window positions (i - j < window).
            window = self.sliding_window // 2 if self.bidirectional else self.sliding_window - 1
            biases["sliding_attention"] = attention_bias(attention_mask, dtype, window=window,
                                                         causal=causal)
        else:
            biases["sliding_attention"] = biases["full_attention"]
        return biases

    def __call__(self, input_ids: mx.array, attention_mask: mx.array) -> mx.array:
        embedded = self.embed_tokens(input_ids)
        # The scale is rounded to the weights' dtype first, as the reference does.
        hidden = embedded * mx.array(self.hidden_size ** 0.5, dtype=embedded.dtype)
        biases = self._biases(attention_mask, hidden.dtype)
        for layer in self.layers:
            hidden = layer(hidden, biases[layer.kind])
        return self.norm(hidden)


def sanitize(weights: dict[str, mx.array], config: dict[str, Any]) -> dict[str, mx.array]:
    """HF names to ours: ``model.`` / ``model.language_model.`` prefixes go; ``lm_head`` (tied
    to the embeddings) and rotary buffers are dropped."""
    out: dict[str, mx.array] = {}
    for key, value in weights.items():
        name = key.removeprefix("model.").removeprefix("language_model.")
        if name.startswith("lm_head.") or name.endswith("inv_freq"):
            continue
        out[name] = value
    return out
