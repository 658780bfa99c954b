"""NomicBERT (nomic-embed-text-v1 / v1.5), written from nomic-ai's published architecture
(contrastors' NomicBertModel, the ``modeling_hf_nomic_bert.py`` its checkpoints ship).

BERT-shaped but: no position table (rotary positions on the whole head, GPT-NeoX halves
unless ``rotary_emb_interleaved``), a fused bias-free QKV projection, a SwiGLU MLP
(``fc2(fc11(x) * silu(fc12(x)))``), post-norm blocks, and a vocabulary padded to a multiple
of ``pad_vocab_size_multiple``. Config keys are GPT-2 style (n_embd, n_head, n_layer...).
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.models.rotary_attention import attention_bias

GATED = {"swiglu": nn.silu, "geglu": nn.gelu, "glu": mx.sigmoid}
PLAIN = {"gelu": nn.gelu, "gelu_new": nn.gelu_approx, "gelu_fast": nn.gelu_approx,
         "gelu_pytorch_tanh": nn.gelu_approx}


def _get(config: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if config.get(name) is not None:
            return config[name]
    return default


def padded_vocab_size(config: dict[str, Any]) -> int:
    """The embedding rows the checkpoint holds: vocab_size rounded up to the multiple."""
    size = int(config["vocab_size"])
    multiple = int(config.get("pad_vocab_size_multiple") or 1)
    return (size + multiple - 1) // multiple * multiple


class Embeddings(nn.Module):
    def __init__(self, config: dict[str, Any], hidden: int) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(padded_vocab_size(config), hidden)
        if int(config.get("type_vocab_size") or 0) > 0:
            self.token_type_embeddings = nn.Embedding(int(config["type_vocab_size"]), hidden)

    def __call__(self, input_ids: mx.array) -> mx.array:
        embedded = self.word_embeddings(input_ids)
        if "token_type_embeddings" in self:  # every token is of type 0
            embedded = embedded + self.token_type_embeddings.weight[0]
        return embedded


class Attention(nn.Module):
    def __init__(self, config: dict[str, Any], hidden: int) -> None:
        super().__init__()
        self.heads = int(_get(config, "n_head", "num_attention_heads"))
        self.head_dim = hidden // self.heads
        bias = bool(config.get("qkv_proj_bias", True))
        self.Wqkv = nn.Linear(hidden, 3 * hidden, bias=bias)
        self.out_proj = nn.Linear(hidden, hidden, bias=bias)
        self.rotary_dims = int(self.head_dim * float(config.get("rotary_emb_fraction", 0.0)))
        self.traditional = bool(config.get("rotary_emb_interleaved", False))
        self.base = float(config.get("rotary_emb_base", 10_000.0))
        self.scaling_factor = config.get("rotary_scaling_factor")
        self.trained_positions = int(config.get("max_trained_positions", 2048))

    def rope_base(self, length: int) -> float:
        """Dynamic NTK scaling (``rotary_scaling_factor``) for rows longer than the model
        was trained on, as NomicBertDynamicNTKRotaryEmbedding computes it."""
        if not self.scaling_factor or length <= self.trained_positions:
            return self.base
        factor = float(self.scaling_factor)
        stretch = factor * length / self.trained_positions - (factor - 1)
        return self.base * stretch ** (self.rotary_dims / (self.rotary_dims - 2))

    def __call__(self, hidden: mx.array, bias: mx.array) -> mx.array:
        batch, length, _ = hidden.shape
        qkv = self.Wqkv(hidden).reshape(batch, length, 3, self.heads, self.head_dim)
        qkv = qkv.transpose(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]
        if self.rotary_dims > 0:
            base = self.rope_base(length)
            query = mx.fast.rope(query, self.rotary_dims, traditional=self.traditional,
                                 base=base, scale=1.0, offset=0)
            key = mx.fast.rope(key, self.rotary_dims, traditional=self.traditional,
                               base=base, scale=1.0, offset=0)
        out = mx.fast.scaled_dot_product_attention(
            query, key, value, scale=self.head_dim ** -0.5, mask=bias)
        return self.out_proj(out.transpose(0, 2, 1, 3).reshape(batch, length, -1))


class MLP(nn.Module):
    def __init__(self, config: dict[str, Any], hidden: int) -> None:
        super().__init__()
        inner = int(_get(config, "n_inner", "intermediate_size", default=4 * hidden))
        kind = str(config.get("activation_function", "swiglu"))
        bias1 = bool(config.get("mlp_fc1_bias", True))
        bias2 = bool(config.get("mlp_fc2_bias", True))
        self.gated = kind in GATED
        if kind not in GATED and kind not in PLAIN:
            raise ValueError(f"NomicBERT activation '{kind}' is not supported")
        self.act = GATED.get(kind) or PLAIN[kind]
        if self.gated:
            self.fc11 = nn.Linear(hidden, inner, bias=bias1)
            self.fc12 = nn.Linear(hidden, inner, bias=bias1)
        else:
            self.fc1 = nn.Linear(hidden, inner, bias=bias1)
        self.fc2 = nn.Linear(inner, hidden, bias=bias2)

    def __call__(self, hidden: mx.array) -> mx.array:
        if self.gated:
            return self.fc2(self.fc11(hidden) * self.act(self.fc12(hidden)))
        return self.fc2(self.act(self.fc1(hidden)))


class Block(nn.Module):
    """Post-norm: norm1(x + attn(x)), then norm2(x + mlp(x))."""

    def __init__(self, config: dict[str, Any], hidden: int) -> None:
        super().__init__()
        eps = float(_get(config, "layer_norm_epsilon", "layer_norm_eps", default=1e-12))
        self.attn = Attention(config, hidden)
        self.mlp = MLP(config, hidden)
        self.norm1 = nn.LayerNorm(hidden, eps=eps)
        self.norm2 = nn.LayerNorm(hidden, eps=eps)

    def __call__(self, hidden: mx.array, bias: mx.array) -> mx.array:
        hidden = self.norm1(hidden + self.attn(hidden, bias))
        return self.norm2(hidden + self.mlp(hidden))


class Encoder(nn.Module):
    def __init__(self, config: dict[str, Any], hidden: int) -> None:
        super().__init__()
        count = int(_get(config, "n_layer", "num_hidden_layers"))
        self.layers = [Block(config, hidden) for _ in range(count)]

    def __call__(self, hidden: mx.array, bias: mx.array) -> mx.array:
        for layer in self.layers:
            hidden = layer(hidden, bias)
        return hidden


class Model(nn.Module):
    """NomicBertModel: ids and {0,1} mask (right padding) to last hidden states."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        if config.get("prenorm") or config.get("causal"):
            raise ValueError("NomicBERT with prenorm or causal attention is not supported")
        hidden = int(_get(config, "n_embd", "hidden_size"))
        eps = float(_get(config, "layer_norm_epsilon", "layer_norm_eps", default=1e-12))
        self.embeddings = Embeddings(config, hidden)
        self.emb_ln = nn.LayerNorm(hidden, eps=eps)
        self.encoder = Encoder(config, hidden)

    def __call__(self, input_ids: mx.array, attention_mask: mx.array) -> mx.array:
        hidden = self.emb_ln(self.embeddings(input_ids))
        return self.encoder(hidden, attention_bias(attention_mask, hidden.dtype))


def sanitize(weights: dict[str, mx.array], config: dict[str, Any]) -> dict[str, mx.array]:
    """HF names to ours: ``bert.`` / ``model.`` prefixes go; the pooler, the MLM head
    (``cls.*``) and buffers are dropped; a classifier stays under its HF name."""
    out: dict[str, mx.array] = {}
    for key, value in weights.items():
        if key.startswith("classifier."):
            out[key] = value
            continue
        name = key.removeprefix("bert.").removeprefix("model.")
        if name.startswith(("pooler.", "cls.")) or name.endswith("inv_freq"):
            continue
        out[name] = value
    return out
