"""The model families mlx-serve runs: one entry per family, one module per family.

No MLX imports here (the converter's checks and ``checkpoint`` read it before MLX loads).

Adding a family is one module ``models/<name>.py`` and one ``Family(...)`` line in
``FAMILIES``. The module provides:

- ``class Model(nn.Module)``: ``__init__(self, config: dict)`` takes the Hugging Face
  ``config.json`` dict; ``__call__(self, input_ids, attention_mask)`` takes int32 ids and a
  {0,1} mask of shape (batch, length), padded on the side the entry names, and returns the
  last hidden states (batch, length, hidden). Families with ``token_types=True`` also accept
  ``token_type_ids=`` (cross-encoder pairs). Optional: a boolean attribute
  ``fast_cpu_ops`` the engines set on the CPU in float32 (vectorised activations, fast_ops).
- ``sanitize(weights, config) -> weights``: Hugging Face checkpoint names to the Model's
  parameter names (prefix stripped, legacy names mapped, unused tensors such as MLM heads
  dropped); task heads stay under their Hugging Face names (``classifier.*``, ``head.*``,
  ``score.*``, ``lm_head.*``: see ``HEAD_PREFIXES``), are kept beside the Model and never
  quantized.
- optional ``classify(model, hidden, heads, config, attention_mask) -> logits`` (batch,
  labels): the sequence-classification head of a cross-encoder, from the last hidden states
  (and the mask, for heads that mean-pool: ModernBERT's ``classifier_pooling: mean``);
  ``CLASSIFY_USES``: prefixes of Model parameters it reads.
- optional ``OPTIONAL_PARAMETERS``: prefixes of Model parameters a checkpoint may lack (BERT's
  pooler, which sentence-transformers checkpoints drop); they keep their initial values.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from mlx_serve.domain.errors import UnsupportedModel

# ``head.``: ModernBertForSequenceClassification's dense + norm before ``classifier``.
HEAD_PREFIXES = ("classifier.", "head.", "lm_head.", "score.")


@dataclass(frozen=True)
class Family:
    """How one architecture is run: its module, padding, token types, precision, defaults."""

    name: str  # module under models/; stored as ``family`` in converted configs
    model_types: tuple[str, ...]  # the config.json ``model_type`` values it runs
    # Which side batches are padded on. Encoders: right. Causal decoders pooled on the last
    # token: left, so the last real token is at position -1 of every row.
    padding: str = "right"
    # Whether the Model takes token type ids (BERT pairs: 0 for the query, 1 for the
    # document). Families without a type table (or with a single type) get none.
    token_types: bool = False
    half_dtype: str = "float16"  # compute dtype on a GPU under dtype "auto"
    default_pooling: str = "mean"  # without modules.json (sentence-transformers' fallback)
    position_offset: int = 0  # position-table rows the model never uses for tokens
    default_max_length: int | None = None  # cap without sentence_bert_config.json
    # False where float16 overflows the activations (Gemma3): a GPU computes in bfloat16
    # even when float16 is asked for, and converting to float16 is refused.
    float16_ok: bool = True
    # config.json keys of the width and the position limit (NomicBERT: GPT-2 style names).
    hidden_key: str = "hidden_size"
    positions_key: str = "max_position_embeddings"

    @property
    def left_padded(self) -> bool:
        return self.padding == "left"

    def hidden_size(self, config: dict[str, Any]) -> int:
        """The width of the last hidden states."""
        return int(config[self.hidden_key])

    def max_positions(self, config: dict[str, Any]) -> int:
        """How many tokens the model reads at most (position table, or rotary context)."""
        return int(config.get(self.positions_key, 512)) - self.position_offset

    def module(self) -> ModuleType:
        """The family's model module (imports MLX)."""
        return importlib.import_module(f"{__package__}.{self.name}")

    def build(self, config: dict[str, Any]) -> Any:
        """An uninitialised-weights ``Model`` for this config."""
        return self.module().Model(config)

    def sanitize(self, weights: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        return self.module().sanitize(weights, config)


FAMILIES: tuple[Family, ...] = (
    # BERT: token types on, so cross-encoder pairs get their segment embeddings.
    Family("bert", ("bert",), token_types=True),
    # RoBERTa position ids start at padding_idx + 1 = 2; one token type (always 0).
    Family("xlm_roberta", ("xlm-roberta", "roberta"), position_offset=2),
    # MPNet: RoBERTa-style positions plus a relative position bias; no token types.
    Family("mpnet", ("mpnet",), position_offset=2),
    # Qwen3: causal decoder trained in bf16; last-token pooling; left padding.
    Family("qwen3", ("qwen3",), padding="left", half_dtype="bfloat16",
           default_pooling="lasttoken", default_max_length=8192),
    # ModernBERT (gte-modernbert, granite-embedding-r2; ForSequenceClassification: rerankers
    # such as gte-reranker-modernbert): rotary, local/global attention, no token types.
    Family("modernbert", ("modernbert",)),
    # NomicBERT (nomic-embed-text-v1/v1.5): its auto_map remote code is never run; our module
    # reads its GPT-2 style config (n_embd, n_positions).
    Family("nomic_bert", ("nomic_bert",), hidden_key="n_embd", positions_key="n_positions"),
    # Gemma3 text with bidirectional attention (EmbeddingGemma): trained in bf16, and its
    # activations overflow float16.
    Family("gemma3_text", ("gemma3_text",), half_dtype="bfloat16", float16_ok=False),
)


def by_name(name: str) -> Family:
    """The family stored in a converted config; raises UnsupportedModel."""
    for family in FAMILIES:
        if family.name == name:
            return family
    raise UnsupportedModel(f"model family '{name}' is not supported by this mlx-serve")


def supported_model_types() -> list[str]:
    return sorted(t for family in FAMILIES for t in family.model_types)


def for_config(config: dict[str, Any]) -> Family:
    """The family that runs a Hugging Face config.json; raises UnsupportedModel naming the
    architecture and listing what is supported."""
    model_type = str(config.get("model_type", "")).lower()
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    architectures = config.get("architectures") or []
    arch = str(architectures[0]) if architectures else model_type or "unknown"
    raise UnsupportedModel(
        f"model_type '{model_type}' ({arch}) is not supported; supported: "
        f"{', '.join(supported_model_types())}"
    )
