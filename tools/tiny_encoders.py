"""Tiny random-weight sentence-transformers encoders of each encoder family, for tests.

Each builder writes a Hugging Face directory the way the real checkpoint ships it: the
family's bare ``*Model`` weights (``save_pretrained`` of ``BertModel``, ``XLMRobertaModel``,
``MPNetModel``, built from transformers' real config classes), the fixed WordPiece tokenizer
of tools/tiny_checkpoints.py, and the real model's sentence-transformers files (modules.json,
pooling, Normalize, ``max_seq_length``). Weights use a large ``initializer_range`` so vectors
really depend on the input.

``ENCODERS`` maps a family to (example real model, pooling mode, builder).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tools.tiny_checkpoints import save_bert_tokenizer

MAX_SEQ_LENGTH = 32  # small, so long test texts really get truncated
_SIZES = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
              intermediate_size=64, initializer_range=0.3)


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


def _sentence_transformers_files(directory: Path, pooling: str, hidden: int) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ]
    _write_json(directory / "modules.json", modules)
    _write_json(directory / "1_Pooling" / "config.json", {
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean",
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_lasttoken": False,
    })
    _write_json(directory / "sentence_bert_config.json",
                {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False})


def _save(directory: Path, model_class: type, config: object, pooling: str, seed: int) -> Path:
    import torch

    torch.manual_seed(seed)
    model_class(config).eval().save_pretrained(directory, safe_serialization=True)
    _sentence_transformers_files(directory, pooling, _SIZES["hidden_size"])
    return directory


def build_bert_cls(directory: Path) -> Path:
    """bge-small-en-v1.5's recipe: BertModel, CLS pooling, Normalize."""
    from transformers import BertConfig, BertModel

    directory = Path(directory)
    vocab = save_bert_tokenizer(directory).get_vocab_size()
    config = BertConfig(vocab_size=vocab, max_position_embeddings=64, type_vocab_size=2,
                        pad_token_id=0, **_SIZES)
    return _save(directory, BertModel, config, "cls", seed=11)


def build_xlm_roberta(directory: Path) -> Path:
    """bge-m3's recipe: XLMRobertaModel (one token type, RoBERTa positions), CLS, Normalize."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    directory = Path(directory)
    vocab = save_bert_tokenizer(directory).get_vocab_size()
    config = XLMRobertaConfig(vocab_size=vocab, max_position_embeddings=MAX_SEQ_LENGTH + 8,
                              type_vocab_size=1, pad_token_id=0, **_SIZES)
    return _save(directory, XLMRobertaModel, config, "cls", seed=12)


def build_mpnet(directory: Path) -> Path:
    """all-mpnet-base-v2's recipe: MPNetModel (relative position bias), mean, Normalize."""
    from transformers import MPNetConfig, MPNetModel

    directory = Path(directory)
    vocab = save_bert_tokenizer(directory).get_vocab_size()
    config = MPNetConfig(vocab_size=vocab, max_position_embeddings=MAX_SEQ_LENGTH + 8,
                         pad_token_id=0, relative_attention_num_buckets=32, **_SIZES)
    return _save(directory, MPNetModel, config, "mean", seed=13)


ENCODERS: dict[str, tuple[str, str, Callable[[Path], Path]]] = {
    "bert": ("BAAI/bge-small-en-v1.5", "cls", build_bert_cls),
    "xlm_roberta": ("BAAI/bge-m3", "cls", build_xlm_roberta),
    "mpnet": ("sentence-transformers/all-mpnet-base-v2", "mean", build_mpnet),
}
