"""Tiny BERT checkpoints in Hugging Face layout, for the Hub stand-in to serve.

Random weights from fixed seeds, a fixed WordPiece vocabulary (the tokenizers trainer is not
deterministic), and a hidden size of 64 so MLX's affine quantisation (group size 64) applies
to every linear layer. The weight scale is raised so outputs depend on the input.
"""

from __future__ import annotations

import json
from pathlib import Path

_TEXT = (
    "the a of and to in is it that for on with as was he she they we you this be at by or "
    "from not are but have an had his her which one all were there their what so up out if "
    "about who get when make can like time no just him know take people into year your good "
    "some could them see other than then now look only come its over think also back after "
    "use two how our work first well way even new want because any these give day most us "
    "cat dog fish bird tree river city music paris france capital weather sun rain"
)
WORDS = _TEXT.split(" ")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
HIDDEN = 64


def _tokenizer(directory: Path) -> int:
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIALS + list(dict.fromkeys(WORDS)))}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    fast = BertTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=64,
    )
    fast.save_pretrained(directory)
    return len(vocab)


def _config(vocab_size: int):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size, hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=2 * HIDDEN, max_position_embeddings=64, initializer_range=0.2,
    )


def build_embedding(directory: Path, *, seed: int = 0) -> Path:
    """A sentence-transformers style BERT embedding model (mean pooling, normalised)."""
    import torch
    from transformers import BertModel

    directory.mkdir(parents=True, exist_ok=True)
    vocab_size = _tokenizer(directory)
    torch.manual_seed(seed)
    BertModel(_config(vocab_size)).save_pretrained(directory, safe_serialization=True)
    (directory / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ]))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    (directory / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": HIDDEN, "pooling_mode_mean_tokens": True}
    ))
    (directory / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 64, "do_lower_case": False})
    )
    # Files a model does not need, which a pull must not download.
    (directory / "pytorch_model.bin").write_bytes(b"not needed" * 100)
    (directory / "onnx").mkdir(exist_ok=True)
    (directory / "onnx" / "model.onnx").write_bytes(b"not needed" * 100)
    (directory / "README.md").write_text("# tiny test model\n")
    return directory


def build_cross_encoder(directory: Path, *, seed: int = 1) -> Path:
    """A BERT cross-encoder (one logit) reranker."""
    import torch
    from transformers import BertForSequenceClassification

    directory.mkdir(parents=True, exist_ok=True)
    vocab_size = _tokenizer(directory)
    config = _config(vocab_size)
    config.num_labels = 1
    torch.manual_seed(seed)
    BertForSequenceClassification(config).save_pretrained(directory, safe_serialization=True)
    return directory


def build_without_weights(directory: Path) -> Path:
    """A repo with a config and PyTorch weights only: nothing mlx-serve can convert."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    (directory / "pytorch_model.bin").write_bytes(b"\0" * 1000)
    return directory
