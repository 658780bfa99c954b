"""BERT (and the encoder stack RoBERTa-style families reuse), in Hugging Face's names.

Parameter names are ``BertModel``'s without the ``bert.`` prefix (``embeddings.*``,
``encoder.layer.N.*``, ``pooler.*``), so a checkpoint's tensors load by name. The pooler
(dense + tanh over [CLS]) is only used by the classification head; sentence-transformers
checkpoints often ship without it.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.models.attention import activation, attend, merge_heads, split_heads
from mlx_serve.adapters.mlx.models.masks import padding_mask

PREFIX = "bert."
# Tensors of pre-training heads and buffers that inference never reads.
DROPPED = ("cls.", "lm_head.", "position_ids", "embeddings.position_ids")
# Parameters an embedding checkpoint may lack (the pooler: only ``classify`` reads it), and
# which of them ``classify`` needs (a cross-encoder without them is refused at load).
OPTIONAL_PARAMETERS = ("pooler.",)
CLASSIFY_USES = ("pooler.",)


class SelfAttention(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        self.num_attention_heads = int(config["num_attention_heads"])
        self.scale = (hidden // self.num_attention_heads) ** -0.5
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def __call__(self, x: mx.array, mask: mx.array, fast_cpu_ops: bool) -> mx.array:
        heads = self.num_attention_heads
        out = attend(split_heads(self.query(x), heads), split_heads(self.key(x), heads),
                     split_heads(self.value(x), heads), self.scale, mask,
                     fast_cpu_ops=fast_cpu_ops)
        return merge_heads(out)


class DenseNorm(nn.Module):
    """``dense`` then residual ``LayerNorm`` (BertSelfOutput / BertOutput)."""

    def __init__(self, inputs: int, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        self.dense = nn.Linear(inputs, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=float(config.get("layer_norm_eps", 1e-12)))

    def __call__(self, x: mx.array, residual: mx.array) -> mx.array:
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.self = SelfAttention(config)
        self.output = DenseNorm(int(config["hidden_size"]), config)

    def __call__(self, x: mx.array, mask: mx.array, fast_cpu_ops: bool) -> mx.array:
        return self.output(self.self(x, mask, fast_cpu_ops), x)


class Intermediate(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.dense = nn.Linear(int(config["hidden_size"]), int(config["intermediate_size"]))
        self.act = str(config.get("hidden_act", "gelu"))

    def __call__(self, x: mx.array, fast_cpu_ops: bool) -> mx.array:
        return activation(self.act, fast_cpu_ops=fast_cpu_ops)(self.dense(x))


class Layer(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = Intermediate(config)
        self.output = DenseNorm(int(config["intermediate_size"]), config)

    def __call__(self, x: mx.array, mask: mx.array, fast_cpu_ops: bool) -> mx.array:
        attended = self.attention(x, mask, fast_cpu_ops)
        return self.output(self.intermediate(attended, fast_cpu_ops), attended)


class Encoder(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.layer = [Layer(config) for _ in range(int(config["num_hidden_layers"]))]

    def __call__(self, x: mx.array, mask: mx.array, fast_cpu_ops: bool) -> mx.array:
        for layer in self.layer:
            x = layer(x, mask, fast_cpu_ops)
        return x


class Embeddings(nn.Module):
    """Word + absolute position + token type embeddings, then LayerNorm."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        self.word_embeddings = nn.Embedding(int(config["vocab_size"]), hidden)
        self.position_embeddings = nn.Embedding(
            int(config.get("max_position_embeddings", 512)), hidden)
        self.token_type_embeddings = nn.Embedding(
            max(1, int(config.get("type_vocab_size", 2))), hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=float(config.get("layer_norm_eps", 1e-12)))

    def positions(self, input_ids: mx.array) -> mx.array:
        return mx.broadcast_to(mx.arange(input_ids.shape[1]), input_ids.shape)

    def __call__(self, input_ids: mx.array, token_type_ids: mx.array | None) -> mx.array:
        if token_type_ids is None:
            token_type_ids = mx.zeros_like(input_ids)
        x = (self.word_embeddings(input_ids)
             + self.position_embeddings(self.positions(input_ids))
             + self.token_type_embeddings(token_type_ids))
        return self.LayerNorm(x)


class Pooler(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        self.dense = nn.Linear(hidden, hidden)

    def __call__(self, hidden: mx.array) -> mx.array:
        return mx.tanh(self.dense(hidden[:, 0]))


class Model(nn.Module):
    """BertModel: last hidden states of right-padded batches."""

    embeddings_class: type[Embeddings] = Embeddings

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.embeddings = self.embeddings_class(config)
        self.encoder = Encoder(config)
        self.pooler = Pooler(config)
        self.fast_cpu_ops = False

    def __call__(self, input_ids: mx.array, attention_mask: mx.array,
                 token_type_ids: mx.array | None = None) -> mx.array:
        x = self.embeddings(input_ids, token_type_ids)
        return self.encoder(x, padding_mask(attention_mask, x.dtype), self.fast_cpu_ops)


def rename(weights: dict[str, mx.array], prefix: str) -> dict[str, mx.array]:
    """Strip the backbone prefix, map legacy LayerNorm names, drop pre-training tensors."""
    out: dict[str, mx.array] = {}
    for key, value in weights.items():
        name = key[len(prefix):] if key.startswith(prefix) else key
        if name.startswith(DROPPED) or name.endswith(".position_ids"):
            continue
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight")
        name = name.replace("LayerNorm.beta", "LayerNorm.bias")
        out[name] = value
    return out


def sanitize(weights: dict[str, mx.array], config: dict[str, Any]) -> dict[str, mx.array]:
    """BertModel / BertForSequenceClassification names (``bert.`` or bare) to ours."""
    return rename(weights, PREFIX)


def classify(model: Model, hidden: mx.array, heads: dict[str, mx.array],
             config: dict[str, Any], attention_mask: mx.array | None = None) -> mx.array:
    """BertForSequenceClassification: classifier(pooler(hidden[:, 0]))."""
    return linear(model.pooler(hidden), heads, "classifier")


def linear(x: mx.array, heads: dict[str, mx.array], name: str) -> mx.array:
    """``x @ W.T + b`` with a head's raw weights (heads are never quantized)."""
    out = x @ heads[f"{name}.weight"].T
    bias = heads.get(f"{name}.bias")
    return out if bias is None else out + bias
