"""Deterministic tiny random-weight checkpoints in Hugging Face layout, for tests.

Everything is fixed: torch seeds, vocabularies and merges (the ``tokenizers`` trainers are
not deterministic, so no training). Weights are initialised with a large scale
(``initializer_range``) so outputs really depend on the input: with the default 0.02 every
last-token embedding is nearly the same vector and every rerank score sits near 0.5, and a
test could not tell a wrong recipe from a right one.

Public builders (each returns the directory it filled):
- ``build_qwen3_embedding(dir)``: Qwen3ForCausalLM-shaped embedding model with
  sentence-transformers files (last-token pooling + Normalize), tokenizer appending
  ``<|endoftext|>``;
- ``build_qwen3_reranker(dir)``: Qwen3ForCausalLM marked as a reranker through its config's
  ``_name_or_path`` ("tiny/Qwen3-Reranker-tiny"), tokenizer without the appended eos;
- ``build_bert_cross_encoder(dir)``: BertForSequenceClassification, one label, WordPiece.
Tokenizer builders: ``qwen_tokenizer(append_eos=...)``, ``save_qwen_tokenizer(dir, ...)``,
``wordpiece_tokenizer()``, ``save_bert_tokenizer(dir)``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import (
    AddedToken,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
QWEN_THINK = ("<think>", "</think>")
# Fixed merges: a few frequent English pairs, plus `yes` and `no` as single tokens (the
# reranker reads their logits).
_MERGES = [
    ("y", "e"), ("ye", "s"), ("n", "o"), ("t", "h"), ("h", "e"), ("i", "n"), ("e", "r"),
    ("a", "n"), ("o", "n"), ("r", "e"), ("Ġ", "t"), ("Ġt", "he"), ("Ġ", "a"), ("Ġ", "s"),
    ("Ġ", "w"), ("Ġ", "o"), ("Ġ", "c"), ("Ġ", "p"), ("Ġ", "d"), ("Ġ", "i"), ("e", "s"),
    ("o", "r"), ("i", "s"), ("Ġ", "f"), ("a", "t"), ("e", "n"), ("Ġ", "m"), ("Ġ", "b"),
    ("in", "g"), ("Ġ", "q"), ("Ġq", "u"), ("Ġ", "Q"), ("Ġ", "D"), ("Ġ", "I"), ("Ċ", "Ċ"),
]
QWEN_VOCAB_SIZE = 320  # embedding rows; >= tokenizer size (real Qwen3 pads its vocab too)


def qwen_tokenizer(*, append_eos: bool) -> Tokenizer:
    """Byte-level BPE with the Qwen special tokens; ``append_eos`` adds the embedding
    model's post-processor appending ``<|endoftext|>``."""
    vocab: dict[str, int] = {}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    for left, right in _MERGES:
        vocab.setdefault(left + right, len(vocab))
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=list(_MERGES), fuse_unk=False))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                       use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                  for t in QWEN_SPECIALS])
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in QWEN_THINK])
    eos = tokenizer.token_to_id("<|endoftext|>")
    if append_eos:
        tokenizer.post_processor = processors.TemplateProcessing(
            single="$A:0 <|endoftext|>:0",
            pair="$A:0 <|endoftext|>:0 $B:1 <|endoftext|>:1",
            special_tokens=[("<|endoftext|>", eos)],
        )
    else:
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return tokenizer


def save_qwen_tokenizer(directory: Path, *, append_eos: bool) -> Tokenizer:
    """Write tokenizer.json and a tokenizer_config.json AutoTokenizer loads (left padding)."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = qwen_tokenizer(append_eos=append_eos)
    tokenizer.save(str(directory / "tokenizer.json"))
    _write_json(directory / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "padding_side": "left",
        "model_max_length": 8192,
        "clean_up_tokenization_spaces": False,
    })
    _write_json(directory / "special_tokens_map.json",
                {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"})
    return tokenizer


_WORDS = [
    "the", "a", "an", "of", "to", "in", "is", "are", "was", "what", "how", "why", "who",
    "which", "query", "document", "passage", "answer", "search", "web", "relevant", "capital",
    "city", "country", "paris", "france", "berlin", "germany", "water", "fire", "model",
    "server", "vector", "text", "yes", "no", "apple", "banana", "machine", "learning", "fast",
    "slow", "good", "bad",
]


def wordpiece_tokenizer() -> Tokenizer:
    """A BERT (uncased) WordPiece tokenizer over a fixed vocabulary."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,?!'-:")
    # Deduplicated: ids must be contiguous so vocab.txt (ids = line numbers) agrees.
    tokens = list(dict.fromkeys(specials + pieces + [f"##{p}" for p in pieces] + _WORDS))
    vocab = {token: index for index, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return tokenizer


def save_bert_tokenizer(directory: Path) -> Tokenizer:
    """Write tokenizer.json, vocab.txt and tokenizer_config.json of the WordPiece tokenizer."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = wordpiece_tokenizer()
    tokenizer.save(str(directory / "tokenizer.json"))
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    (directory / "vocab.txt").write_text("".join(f"{token}\n" for token, _ in vocab))
    _write_json(directory / "tokenizer_config.json", {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512,
        "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
        "unk_token": "[UNK]", "mask_token": "[MASK]",
    })
    return tokenizer


def _qwen3_config(tokenizer: Tokenizer, name: str):
    from transformers import Qwen3Config

    eos = tokenizer.token_to_id("<|endoftext|>")
    return Qwen3Config(
        vocab_size=QWEN_VOCAB_SIZE, hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        max_position_embeddings=2048, rope_theta=20_000.0,  # not Qwen3's 1e6, so a lost base shows
        rms_norm_eps=1e-6,
        tie_word_embeddings=False, initializer_range=0.4, bos_token_id=eos,
        eos_token_id=eos, pad_token_id=eos, name_or_path=name,
        architectures=["Qwen3ForCausalLM"],
    )


def _save_qwen3(directory: Path, *, append_eos: bool, name: str, seed: int) -> Path:
    import torch
    from transformers import Qwen3ForCausalLM

    tokenizer = save_qwen_tokenizer(directory, append_eos=append_eos)
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(_qwen3_config(tokenizer, name)).eval()
    model.save_pretrained(directory, safe_serialization=True)
    config_path = directory / "config.json"
    config = json.loads(config_path.read_text())
    config["_name_or_path"] = name  # what marks a Qwen3ForCausalLM as reranker/embedding
    _write_json(config_path, config)
    return directory


def build_qwen3_embedding(directory: Path) -> Path:
    """A tiny Qwen3-Embedding-like checkpoint (see module docstring)."""
    directory = Path(directory)
    _save_qwen3(directory, append_eos=True, name="tiny/Qwen3-Embedding-tiny", seed=1)
    _write_json(directory / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(directory / "1_Pooling" / "config.json", {
        "word_embedding_dimension": 64, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_lasttoken": True,
    })
    _write_json(directory / "config_sentence_transformers.json", {"prompts": {
        "query": "Instruct: Given a web search query, retrieve relevant passages that "
                 "answer the query\nQuery:", "document": ""}, "default_prompt_name": None})
    return directory


def build_qwen3_reranker(directory: Path) -> Path:
    """A tiny Qwen3-Reranker-like checkpoint (see module docstring)."""
    return _save_qwen3(Path(directory), append_eos=False, name="tiny/Qwen3-Reranker-tiny",
                       seed=2)


def build_bert_cross_encoder(directory: Path) -> Path:
    """A tiny BertForSequenceClassification cross-encoder with one output logit."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    directory = Path(directory)
    tokenizer = save_bert_tokenizer(directory)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=64, max_position_embeddings=512,
        type_vocab_size=2, num_labels=1, initializer_range=0.3, pad_token_id=0,
        architectures=["BertForSequenceClassification"],
    )
    torch.manual_seed(3)
    BertForSequenceClassification(config).eval().save_pretrained(
        directory, safe_serialization=True)
    return directory


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
