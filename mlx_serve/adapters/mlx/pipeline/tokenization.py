"""Batch tokenisation with the model's own ``tokenizer.json`` (the Rust ``tokenizers``).

Padding is never done here: batches are padded per batch after length sorting
(see batching.py). Truncation is the tokenizer's, so special tokens survive a cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from mlx_serve.adapters.mlx.convert.checkpoint import read_json
from mlx_serve.domain.errors import ModelLoadError


@dataclass(frozen=True)
class Encoded:
    """Token ids of one input, specials included, and whether the tokenizer cut it."""

    ids: list[int]
    truncated: bool


def load_tokenizer(directory: Path) -> Tokenizer:
    """The fast tokenizer of a model directory, with its own padding/truncation turned off.

    Raises ModelLoadError when tokenizer.json is missing or unreadable.
    """
    try:
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    except Exception as error:
        raise ModelLoadError(f"cannot load tokenizer.json from {directory}: {error}") from error
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def pad_token_id(directory: Path, tokenizer: Tokenizer) -> int:
    """The id to pad with: tokenizer_config's pad token, else eos, else 0 (masked anyway)."""
    config = read_json(directory / "tokenizer_config.json")
    specials = read_json(directory / "special_tokens_map.json")
    for key in ("pad_token", "eos_token"):
        token = config.get(key) or specials.get(key)
        if isinstance(token, dict):
            token = token.get("content")
        if isinstance(token, str) and tokenizer.token_to_id(token) is not None:
            return int(tokenizer.token_to_id(token))
    return 0


class TextTokenizer:
    """Encodes texts the way a model's recipe says; thread-safe for reads."""

    def __init__(self, directory: Path, max_length: int, *, ensure_last: str | None = None
                 ) -> None:
        """``ensure_last``: a token every encoded text must end with (Qwen3-Embedding's
        ``<|endoftext|>``); appended only when the tokenizer's post-processor does not."""
        self.tokenizer = load_tokenizer(directory)
        self.max_length = max_length
        self.pad_id = pad_token_id(directory, self.tokenizer)
        self.append_id: int | None = None
        if ensure_last is not None:
            last_id = self.tokenizer.token_to_id(ensure_last)
            probe = self.tokenizer.encode("a", add_special_tokens=True).ids
            if last_id is not None and (not probe or probe[-1] != last_id):
                self.append_id = last_id
        self._truncating = load_tokenizer(directory)
        self._truncating.enable_truncation(max_length - (self.append_id is not None))
        # How many special tokens the post-processor puts before and after a text.
        marked = self.tokenizer.encode("a", add_special_tokens=True).ids
        plain = self.tokenizer.encode("a", add_special_tokens=False).ids
        starts = [i for i in range(len(marked)) if marked[i : i + len(plain)] == plain]
        self._prefix = starts[0] if starts else 0
        self._suffix = len(marked) - self._prefix - len(plain) if starts else 0

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Encode with special tokens, cut to ``max_length`` (``truncated`` says where)."""
        encodings = self._truncating.encode_batch(list(texts), add_special_tokens=True)
        suffix = [self.append_id] if self.append_id is not None else []
        return [Encoded(list(e.ids) + suffix, bool(e.overflowing)) for e in encodings]

    def encode_last(self, texts: Sequence[str], max_tokens: int) -> list[Encoded]:
        """Encode with special tokens, keeping only the end of each text so that the whole
        is at most ``max_tokens`` (vLLM's ``truncate_prompt_tokens``: left truncation that
        keeps the special tokens, as a left-truncating Hugging Face tokenizer does)."""
        suffix = [self.append_id] if self.append_id is not None else []
        encoded: list[Encoded] = []
        for encoding in self.tokenizer.encode_batch(list(texts), add_special_tokens=True):
            ids = list(encoding.ids)
            end = len(ids) - self._suffix
            body = ids[self._prefix : end]
            room = max(max_tokens - self._prefix - self._suffix - len(suffix), 0)
            kept = body[-room:] if room else []
            encoded.append(
                Encoded(ids[: self._prefix] + kept + ids[end:] + suffix, len(kept) < len(body))
            )
        return encoded

    def encode_plain(self, texts: Sequence[str]) -> list[list[int]]:
        """Ids without special tokens and without truncation (for building templates)."""
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [list(e.ids) for e in encodings]
