"""Short names for well-known models, so `mlx-serve pull qwen3-embedding` just works.

Keys are matched case-insensitively; values are Hugging Face repo ids. Settings may add or
override entries (``aliases`` in config.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping

BUILTIN_ALIASES: dict[str, str] = {
    "qwen3-embedding": "Qwen/Qwen3-Embedding-0.6B",
    "qwen3-embedding-0.6b": "Qwen/Qwen3-Embedding-0.6B",
    "qwen3-reranker": "Qwen/Qwen3-Reranker-0.6B",
    "qwen3-reranker-0.6b": "Qwen/Qwen3-Reranker-0.6B",
    "all-minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "bge-reranker-base": "BAAI/bge-reranker-base",
    "ms-marco-minilm": "cross-encoder/ms-marco-MiniLM-L6-v2",
}


def merge_aliases(user: Mapping[str, str] | None = None) -> dict[str, str]:
    """Built-in aliases overridden by ``user``'s, keyed by their case-folded name."""
    merged = {key.casefold(): value for key, value in BUILTIN_ALIASES.items()}
    merged.update({key.casefold(): value for key, value in (user or {}).items()})
    return merged
