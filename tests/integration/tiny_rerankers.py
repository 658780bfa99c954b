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


def build_xlm_roberta_cross_encoder(directory: Path) -> Path:
    """A tiny XLMRobertaForSequenceClassification (one logit, bge-reranker's architecture).

    It borrows the tiny WordPiece tokenizer: the recipe under test is the model's (no token
    types, RoBERTa position ids, the ``classifier.dense``/``out_proj`` head), not the
    tokenizer's.
    """
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    directory = Path(directory)
    tokenizer = tiny_checkpoints.save_bert_tokenizer(directory)
    config = XLMRobertaConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=BERT_MAX_LENGTH + 2,
        type_vocab_size=1,
        num_labels=1,
        initializer_range=0.3,
        pad_token_id=0,
        architectures=["XLMRobertaForSequenceClassification"],
    )
    torch.manual_seed(4)
    XLMRobertaForSequenceClassification(config).eval().save_pretrained(
        directory, safe_serialization=True
    )
    _update_json(directory / "tokenizer_config.json", model_max_length=BERT_MAX_LENGTH)
    return directory
