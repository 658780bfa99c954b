"""Which files of a Hub repo a model needs: weights, config, tokenizer, sentence-transformers.

Repos often carry the same weights several times (PyTorch ``.bin``, ONNX, OpenVINO, GGUF);
downloading only safetensors and the small JSON/tokenizer files keeps a pull to what the
converter reads.
"""

from __future__ import annotations

from fnmatch import fnmatch

ALLOW_PATTERNS: tuple[str, ...] = (
    "*.safetensors",
    "*.safetensors.index.json",
    "config.json",
    # Tokenizer files of the common tokenizer families.
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    # sentence-transformers: pooling, normalisation and dense heads.
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "*_Pooling/*",
    "*_Dense/*",
    "*_Normalize/*",
)
# Never fetched even inside an allowed folder: duplicate weight formats.
DENY_PATTERNS: tuple[str, ...] = (
    "*.bin", "*.pt", "*.pth", "*.onnx", "*.onnx_data", "*.h5", "*.msgpack", "*.gguf",
    "*.ot", "onnx/*", "openvino/*",
)


def wanted(path: str) -> bool:
    """Whether the repo file ``path`` is one a model needs."""
    if any(fnmatch(path, pattern) for pattern in DENY_PATTERNS):
        return False
    return any(fnmatch(path, pattern) for pattern in ALLOW_PATTERNS)


def has_weights(paths: list[str]) -> bool:
    """Whether ``paths`` (already filtered by ``wanted``) hold safetensors weights."""
    return any(path.endswith(".safetensors") for path in paths)
