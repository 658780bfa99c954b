"""Tiny reranker checkpoints for the rerank tests, with maximum lengths small enough that
long documents really get cut.

tools/tiny_checkpoints.py builds them (random weights, fixed seeds); here the Qwen3 model's
context (``max_position_embeddings``: RoPE has no position table, so the weights stay valid)
and the BERT tokenizer's ``model_max_length`` are lowered. MlxConverter derives the served
``max_length`` from exactly these, and the references are given the same value.
"""

from __future__ import annotations

import json
from pathlib import Path

from tools import tiny_checkpoints

QWEN3_MAX_LENGTH = 512  # the tiny byte-level tokenizer spends ~250 tokens on the template
BERT_MAX_LENGTH = 64


def _update_json(path: Path, **values: object) -> None:
    data = json.loads(path.read_text())
    data.update(values)
    path.write_text(json.dumps(data, indent=2))


def build_qwen3_reranker(directory: Path) -> Path:
    """A tiny Qwen3-Reranker (Qwen3ForCausalLM, ``yes``/``no`` tokens) of QWEN3_MAX_LENGTH."""
    source = tiny_checkpoints.build_qwen3_reranker(Path(directory))
    _update_json(source / "config.json", max_position_embeddings=QWEN3_MAX_LENGTH)
    return source


def build_bert_cross_encoder(directory: Path) -> Path:
    """A tiny BertForSequenceClassification (one logit) whose tokenizer stops at
    BERT_MAX_LENGTH tokens."""
    source = tiny_checkpoints.build_bert_cross_encoder(Path(directory))
    _update_json(source / "tokenizer_config.json", model_max_length=BERT_MAX_LENGTH)
    return source
