"""The per-request cost bound in tokens, checked before any model work (``max_request_tokens``).

One legal request (2,048 inputs of hundreds of tokens, or 1,000 long rerank documents) can hold
the one compute thread for minutes and every other client with it. So each request's cost is
bounded *before* the model is loaded or anything is tokenised, from an upper bound that needs
no tokenizer: no tokenizer makes more tokens of a text than its UTF-8 bytes (a WordPiece,
SentencePiece or byte-level BPE token covers at least one byte), plus a few special and
template tokens; and no sequence is longer than the model's maximum (inputs are truncated to
it). Token-id inputs count their length. The bound errs on the side of counting too much, never
too little: a request under it cannot cost more.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlx_serve.domain.errors import RequestTooCostly
from mlx_serve.domain.models import ModelInfo

# Special tokens ([CLS], [SEP], BOS/EOS) and template tokens one sequence may add.
SPECIAL_TOKENS = 8


def text_tokens_bound(text: str, max_length: int) -> int:
    """At most how many tokens ``text`` becomes once truncated to ``max_length``."""
    if len(text) >= max_length:  # never fewer bytes than characters: the maximum applies
        return max_length
    return min(max_length, len(text.encode("utf-8", "surrogatepass")) + SPECIAL_TOKENS)


def embedding_cost(
    inputs: Sequence[str | Sequence[int]], info: ModelInfo, instruction: str | None = None
) -> int:
    """Upper bound of the tokens embedding ``inputs`` with ``info`` costs."""
    max_length = max(info.max_length, 1)
    prefix = len(instruction.encode("utf-8", "surrogatepass")) if instruction else 0
    total = 0
    for item in inputs:
        if isinstance(item, str):
            total += min(max_length, text_tokens_bound(item, max_length) + prefix)
        else:
            total += min(max_length, len(item) + prefix)
    return total


def rerank_cost(
    query: str,
    documents: Sequence[str],
    info: ModelInfo,
    *,
    instruction: str | None = None,
    max_tokens_per_doc: int | None = None,
) -> int:
    """Upper bound of the tokens scoring every (query, document) pair with ``info`` costs."""
    max_length = max(info.max_length, 1)
    fixed = text_tokens_bound(query, max_length) + SPECIAL_TOKENS
    if instruction:
        fixed += text_tokens_bound(instruction, max_length)
    if fixed >= max_length:
        return max_length * len(documents)
    total = 0
    for document in documents:
        cost = text_tokens_bound(document, max_length)
        if max_tokens_per_doc is not None:
            cost = min(cost, max_tokens_per_doc)
        total += min(max_length, fixed + cost)
    return total


def check_cost(cost: int, bound: int, *, param: str, what: str) -> None:
    """RequestTooCostly naming the bound when ``cost`` exceeds it."""
    if cost > bound:
        raise RequestTooCostly(
            f"this request may cost up to {cost} tokens ({what}, each cut to the model's "
            f"maximum length), more than the server's bound of {bound} tokens per request "
            "(MLX_SERVE_MAX_REQUEST_TOKENS); send fewer or shorter inputs",
            param=param,
        )
