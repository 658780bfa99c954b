"""ModernBERT (gte-modernbert, granite-embedding-r2) and its sequence-classification head.

Architecture as ``transformers``' ModernBertModel: token embeddings + LayerNorm, pre-norm
layers (no attention norm in layer 0) with a fused QKV projection, rotary positions whose
base differs between global and local layers, attention over the whole row in every
``global_attn_every_n_layers``-th layer and within |i - j| <= local_attention // 2
elsewhere, a GeGLU MLP (``Wi`` holds input and gate halves), and a final LayerNorm.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.models.rotary_attention import (
    activation,
    attention_bias,
    replace_activation,
    rope_settings,
)
from mlx_serve.adapters.mlx.runtime.fast_ops import fast_gelu

GLOBAL_THETA = 160_000.0
LOCAL_THETA = 10_000.0
HEAD_PREFIXES = ("head.", "classifier.")


def layer_types(config: dict[str, Any]) -> list[str]:
    """"full_attention" / "sliding_attention" per layer (explicit, or every n-th global)."""
    explicit = config.get("layer_types")
    if explicit:
        return [str(t) for t in explicit]
    every = int(config.get("global_attn_every_n_layers", 3))
    return ["sliding_attention" if i % every else "full_attention"
            for i in range(int(config["num_hidden_layers"]))]


def rope_of(config: dict[str, Any], kind: str) -> tuple[float, float]:
    """RoPE (base, scale) of one layer type: ``rope_parameters`` (transformers 5) or the
    older top-level ``global_rope_theta`` / ``local_rope_theta``."""
    legacy = {"full_attention": ("global_rope_theta", GLOBAL_THETA),
              "sliding_attention": ("local_rope_theta", LOCAL_THETA)}[kind]
    default = float(config.get(legacy[0]) or legacy[1])
    parameters = (config.get("rope_parameters") or {}).get(kind)
    return rope_settings(parameters, default)


def _layer_norm(config: dict[str, Any]) -> nn.LayerNorm:
    return nn.LayerNorm(int(config["hidden_size"]), eps=float(config.get("norm_eps", 1e-5)),
                        bias=bool(config.get("norm_bias", False)))


class Embeddings(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.tok_embeddings = nn.Embedding(int(config["vocab_size"]), int(config["hidden_size"]))
        self.norm = _layer_norm(config)

    def __call__(self, input_ids: mx.array) -> mx.array:
        return self.norm(self.tok_embeddings(input_ids))


class Attention(nn.Module):
    def __init__(self, config: dict[str, Any], kind: str) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.head_dim = hidden // self.heads
        bias = bool(config.get("attention_bias", False))
        self.Wqkv = nn.Linear(hidden, 3 * hidden, bias=bias)
        self.Wo = nn.Linear(hidden, hidden, bias=bias)
        self.base, self.scale = rope_of(config, kind)

    def __call__(self, hidden: mx.array, bias: mx.array) -> mx.array:
        batch, length, _ = hidden.shape
        qkv = self.Wqkv(hidden).reshape(batch, length, 3, self.heads, self.head_dim)
        qkv = qkv.transpose(2, 0, 3, 1, 4)  # (3, batch, heads, length, head_dim)
        query, key, value = qkv[0], qkv[1], qkv[2]
        query = mx.fast.rope(query, self.head_dim, traditional=False, base=self.base,
                             scale=self.scale, offset=0)
        key = mx.fast.rope(key, self.head_dim, traditional=False, base=self.base,
                           scale=self.scale, offset=0)
        out = mx.fast.scaled_dot_product_attention(
            query, key, value, scale=self.head_dim ** -0.5, mask=bias)
        return self.Wo(out.transpose(0, 2, 1, 3).reshape(batch, length, -1))


class MLP(nn.Module):
    """GeGLU: Wo(act(input) * gate), input and gate being the two halves of Wi's output."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden, inner = int(config["hidden_size"]), int(config["intermediate_size"])
        bias = bool(config.get("mlp_bias", False))
        self.Wi = nn.Linear(hidden, 2 * inner, bias=bias)
        self.Wo = nn.Linear(inner, hidden, bias=bias)
        self.act = activation(str(config.get("hidden_activation", "gelu")))

    def __call__(self, hidden: mx.array) -> mx.array:
        values, gate = mx.split(self.Wi(hidden), 2, axis=-1)
        return self.Wo(self.act(values) * gate)


class EncoderLayer(nn.Module):
    def __init__(self, config: dict[str, Any], index: int, kind: str) -> None:
        super().__init__()
        self.kind = kind
        if index > 0:  # layer 0 reads the already normalised embeddings
            self.attn_norm = _layer_norm(config)
        self.attn = Attention(config, kind)
        self.mlp_norm = _layer_norm(config)
        self.mlp = MLP(config)

    def __call__(self, hidden: mx.array, bias: mx.array) -> mx.array:
        normed = self.attn_norm(hidden) if "attn_norm" in self else hidden
        hidden = hidden + self.attn(normed, bias)
        return hidden + self.mlp(self.mlp_norm(hidden))


class Model(nn.Module):
    """ModernBertModel: ids and {0,1} mask (right padding) to last hidden states."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.embeddings = Embeddings(config)
        kinds = layer_types(config)
        self.layers = [EncoderLayer(config, i, kind) for i, kind in enumerate(kinds)]
        self.final_norm = _layer_norm(config)
        self.window = int(config.get("local_attention", 128)) // 2
        self._fast_cpu_ops = False

    @property
    def fast_cpu_ops(self) -> bool:
        """Whether the MLPs use fast_ops' vectorised GELU (the engines turn it on for float32
        on the CPU, where MLX's erf is scalar; within 2e-6 of the exact GELU)."""
        return self._fast_cpu_ops

    @fast_cpu_ops.setter
    def fast_cpu_ops(self, on: bool) -> None:
        exact, fast = nn.gelu, fast_gelu
        replace_activation(self, exact if on else fast, fast if on else exact)
        self._fast_cpu_ops = bool(on)

    def __call__(self, input_ids: mx.array, attention_mask: mx.array) -> mx.array:
        hidden = self.embeddings(input_ids)
        dtype = hidden.dtype
        biases = {"full_attention": attention_bias(attention_mask, dtype)}
        if any(layer.kind == "sliding_attention" for layer in self.layers):
            biases["sliding_attention"] = attention_bias(attention_mask, dtype,
                                                         window=self.window)
        for layer in self.layers:
            hidden = layer(hidden, biases[layer.kind])
        return self.final_norm(hidden)


def sanitize(weights: dict[str, mx.array], config: dict[str, Any]) -> dict[str, mx.array]:
    """HF names to ours: the backbone's ``model.`` prefix goes (ModernBertFor* checkpoints),
    the classification head stays under its HF names (``head.*``, ``classifier.*``), the
    masked-LM decoder and any rotary buffers are dropped."""
    out: dict[str, mx.array] = {}
    for key, value in weights.items():
        if key.startswith(HEAD_PREFIXES):
            out[key] = value
            continue
        name = key.removeprefix("model.")
        if name.startswith("decoder.") or "rotary_emb" in name or name.endswith("inv_freq"):
            continue
        out[name] = value
    return out


def classifier_logits(heads: dict[str, mx.array], hidden: mx.array, attention_mask: mx.array,
                      config: dict[str, Any]) -> mx.array:
    """ModernBertForSequenceClassification's logits (batch, num_labels) from hidden states:
    CLS or masked-mean pooling (``classifier_pooling``), then dense, activation, LayerNorm,
    and the classifier."""
    if config.get("classifier_pooling", "cls") == "mean":
        weights = attention_mask.astype(hidden.dtype)[:, :, None]
        pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
    else:
        pooled = hidden[:, 0]
    x = pooled @ heads["head.dense.weight"].T
    if "head.dense.bias" in heads:
        x = x + heads["head.dense.bias"]
    x = activation(str(config.get("classifier_activation", "gelu")))(x)
    x = mx.fast.layer_norm(x, heads["head.norm.weight"], heads.get("head.norm.bias"),
                           float(config.get("norm_eps", 1e-5)))
    return x @ heads["classifier.weight"].T + heads["classifier.bias"]


def classify(model: Model, hidden: mx.array, heads: dict[str, mx.array],
             config: dict[str, Any], attention_mask: mx.array | None = None) -> mx.array:
    """The registry's classification hook (rerank/scorers): ``classifier_logits``."""
    if attention_mask is None:
        attention_mask = mx.ones(hidden.shape[:2], dtype=mx.int32)
    return classifier_logits(heads, hidden, attention_mask, config)
