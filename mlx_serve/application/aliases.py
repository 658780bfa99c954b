"""Short names for well-known models, so `mlx-serve pull qwen3-embedding` just works.

Keys are matched case-insensitively; values are Hugging Face repo ids. Settings may add or
override entries (``aliases`` in config.yaml), and an entry there may bind one of the
model's prompts: ``embeddinggemma-query: {model: embeddinggemma-300m, prompt_name: query}``
makes the name ``embeddinggemma-query`` embed with the model's ``query`` prompt, for clients
that can only set a model name.
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
    # Ollama's names for the same models, so `ollama pull`-style names just work.
    "nomic-embed-text": "nomic-ai/nomic-embed-text-v1.5",
    "embeddinggemma": "google/embeddinggemma-300m",
    "gte-modernbert": "Alibaba-NLP/gte-modernbert-base",
    "gte-reranker-modernbert": "Alibaba-NLP/gte-reranker-modernbert-base",
}


# A user alias: a target, or {"model": target, "prompt_name": name}.
UserAlias = str | Mapping[str, str]


def alias_target(value: UserAlias) -> str:
    """The model (repo id or installed name) an alias entry points at."""
    return value if isinstance(value, str) else str(value["model"])


def merge_aliases(user: Mapping[str, UserAlias] | None = None) -> dict[str, str]:
    """Built-in aliases overridden by ``user``'s, keyed by their case-folded name."""
    merged = {key.casefold(): value for key, value in BUILTIN_ALIASES.items()}
    merged.update({key.casefold(): alias_target(value) for key, value in (user or {}).items()})
    return merged


def prompt_bindings(user: Mapping[str, UserAlias] | None = None) -> dict[str, str]:
    """Prompt names bound to user aliases, keyed by the case-folded alias."""
    return {key.casefold(): str(value["prompt_name"]) for key, value in (user or {}).items()
            if not isinstance(value, str) and value.get("prompt_name")}
