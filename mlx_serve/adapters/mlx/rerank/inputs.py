"""Token ids of (query, document) pairs, exactly as each reranker family's recipe builds them.

No MLX here: pure ``tokenizers`` work, so it is cheap to test and to reason about.

* Qwen3-Reranker: ``prefix + pair + suffix``, each encoded without special tokens, the pair
  text ``<Instruct>: ...\\n<Query>: ...\\n<Document>: ...`` tokenised as one string (as the
  official code does: BPE merges across the ``<Document>: `` boundary must match) and cut
  from the right to ``max_length - len(prefix) - len(suffix)`` tokens.
* Cross-encoders: the tokenizer's own pair encoding (``[CLS] q [SEP] d [SEP]`` and token
  type ids), truncated longest-first to the model's maximum by the Rust tokenizer, which is
  what ``transformers``' fast tokenizers run too.

``max_tokens_per_doc`` cuts the document *text* at the end of its N-th token (token offsets
of the document encoded alone), so the pair is still tokenised as one string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tokenizers import Tokenizer

from mlx_serve.domain.errors import InvalidRequest, ModelLoadError

QWEN3_DEFAULT_INSTRUCTION = (
    "Given a web search query, retrieve relevant passages that answer the query"
)
QWEN3_PREFIX = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query "
    'and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n'
    "<|im_start|>user\n"
)
QWEN3_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


@dataclass(frozen=True)
class EncodedPair:
    """Token ids of one pair as fed to the model, token types, and whether anything was cut."""

    ids: list[int]
    type_ids: list[int] | None
    truncated: bool


def qwen3_pair_text(instruction: str | None, query: str, document: str) -> str:
    """The official pair template; ``None`` means the recipe's default instruction."""
    if instruction is None:
        instruction = QWEN3_DEFAULT_INSTRUCTION
    return f"<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}"


def cut_documents(
    tokenizer: Tokenizer, documents: Sequence[str], max_tokens: int | None
) -> tuple[list[str], list[bool]]:
    """Cut each document's text after its ``max_tokens``-th token; returns (texts, was_cut)."""
    if max_tokens is None:
        return list(documents), [False] * len(documents)
    texts: list[str] = []
    cut: list[bool] = []
    for document, encoding in zip(
        documents, tokenizer.encode_batch(list(documents), add_special_tokens=False), strict=True
    ):
        if len(encoding.ids) <= max_tokens:
            texts.append(document)
            cut.append(False)
        else:
            texts.append(document[: encoding.offsets[max_tokens - 1][1]])
            cut.append(True)
    return texts, cut


class Qwen3PairEncoder:
    """Builds Qwen3-Reranker inputs; also knows the ids of ``yes`` and ``no``."""

    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.prefix_ids = self._plain(QWEN3_PREFIX)
        self.suffix_ids = self._plain(QWEN3_SUFFIX)
        self.yes_id = self._single_token("yes")
        self.no_id = self._single_token("no")
        self.pair_budget = max_length - len(self.prefix_ids) - len(self.suffix_ids)
        if self.pair_budget < 1:
            raise ModelLoadError(
                f"max_length {max_length} leaves no room for the reranker's prompt template"
            )

    def _plain(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def _single_token(self, token: str) -> int:
        token_id = self.tokenizer.token_to_id(token)
        if token_id is None:
            raise ModelLoadError(f"the tokenizer has no single token '{token}' (not a reranker?)")
        return int(token_id)

    def encode(
        self,
        query: str,
        documents: Sequence[str],
        instruction: str | None = None,
        max_tokens_per_doc: int | None = None,
    ) -> list[EncodedPair]:
        """Token ids of every (query, document) pair, template included."""
        head = self._plain(qwen3_pair_text(instruction, query, ""))
        if len(head) >= self.pair_budget:
            raise InvalidRequest(
                f"the query and instruction take {len(head)} tokens, leaving no room for a "
                f"document within the model's maximum of {self.max_length} tokens",
                param="query",
            )
        texts, cut = cut_documents(self.tokenizer, documents, max_tokens_per_doc)
        pairs = [qwen3_pair_text(instruction, query, text) for text in texts]
        encodings = self.tokenizer.encode_batch(pairs, add_special_tokens=False)
        encoded: list[EncodedPair] = []
        for encoding, was_cut in zip(encodings, cut, strict=True):
            ids = list(encoding.ids)
            over = len(ids) > self.pair_budget
            ids = self.prefix_ids + ids[: self.pair_budget] + self.suffix_ids
            encoded.append(EncodedPair(ids, None, was_cut or over))
        return encoded


class CrossEncoderPairEncoder:
    """Builds cross-encoder inputs with the tokenizer's pair template."""

    def __init__(self, tokenizer: Tokenizer, max_length: int, use_token_types: bool) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.use_token_types = use_token_types
        # The tokenizer object is private to this encoder, so enabling truncation is safe.
        tokenizer.enable_truncation(max_length, strategy="longest_first")

    def encode(
        self,
        query: str,
        documents: Sequence[str],
        instruction: str | None = None,
        max_tokens_per_doc: int | None = None,
    ) -> list[EncodedPair]:
        """Token ids of every ``[CLS] query [SEP] document [SEP]`` pair (``instruction``
        is not part of a cross-encoder's recipe and is ignored)."""
        texts, cut = cut_documents(self.tokenizer, documents, max_tokens_per_doc)
        encodings = self.tokenizer.encode_batch(
            [(query, text) for text in texts], add_special_tokens=True
        )
        return [
            EncodedPair(
                list(e.ids),
                list(e.type_ids) if self.use_token_types else None,
                was_cut or bool(e.overflowing),
            )
            for e, was_cut in zip(encodings, cut, strict=True)
        ]
