"""Decode OpenAI ``cl100k_base`` token ids to text, with no download and no tiktoken.

OpenAI's embeddings API reads token-id input as ``cl100k_base`` ids, and LangChain's
``OpenAIEmbeddings`` sends exactly that by default. Decoding needs only tiktoken's rank file
(one ``base64(token bytes) rank`` line per token): ``cl100k_base.tiktoken.gz`` beside this
module is that file, byte for byte (sha256 ``223921b7...b2a7``, the hash tiktoken itself
checks), gzipped. It came from the MIT-licensed litellm wheel's tiktoken cache; tiktoken is
MIT as well. Decoding is a byte lookup and a join, then UTF-8 with replacement, as
``tiktoken.Encoding.decode`` does.
"""

from __future__ import annotations

import base64
import gzip
import threading
from collections.abc import Sequence
from pathlib import Path

RANK_FILE = Path(__file__).with_name("cl100k_base.tiktoken.gz")

# tiktoken's special tokens of cl100k_base (not in the rank file); ids between them are unused.
SPECIAL_TOKENS = {
    100257: "<|endoftext|>",
    100258: "<|fim_prefix|>",
    100259: "<|fim_middle|>",
    100260: "<|fim_suffix|>",
    100276: "<|endofprompt|>",
}


class UnknownTokenId(LookupError):
    """A token id that ``cl100k_base`` does not define (``token`` says which)."""

    def __init__(self, token: int) -> None:
        super().__init__(f"token id {token} is not a cl100k_base token")
        self.token = token


class Cl100kDecoder:
    """The TokenIdDecoder port for ``cl100k_base``; the rank file is read on first use."""

    name = "cl100k_base"

    def __init__(self, rank_file: Path = RANK_FILE) -> None:
        self._rank_file = rank_file
        self._tokens: list[bytes | None] | None = None
        self._lock = threading.Lock()

    @property
    def vocabulary_size(self) -> int:
        """One past the largest id (special tokens included)."""
        return len(self._table())

    def decode(self, ids: Sequence[int]) -> str:
        """The text ``ids`` stand for; raises UnknownTokenId (a LookupError) for an id outside
        the vocabulary, or one of the unused ids between the special tokens."""
        table = self._table()
        pieces: list[bytes] = []
        for token in ids:
            piece = table[token] if 0 <= token < len(table) else None
            if piece is None:
                raise UnknownTokenId(int(token))
            pieces.append(piece)
        return b"".join(pieces).decode("utf-8", errors="replace")

    def _table(self) -> list[bytes | None]:
        if self._tokens is None:
            with self._lock:
                if self._tokens is None:
                    self._tokens = _read_ranks(self._rank_file)
        return self._tokens

    def load(self) -> None:
        """Read the rank file now (it is otherwise read by the first decode)."""
        self._table()


def _read_ranks(path: Path) -> list[bytes | None]:
    with gzip.open(path, "rb") as handle:
        lines = handle.read().splitlines()
    size = max(SPECIAL_TOKENS) + 1
    table: list[bytes | None] = [None] * size
    for line in lines:
        if not line:
            continue
        encoded, rank = line.split()
        table[int(rank)] = base64.b64decode(encoded)
    for token, text in SPECIAL_TOKENS.items():
        table[token] = text.encode()
    return table
