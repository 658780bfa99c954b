"""Requests to and results from the inference engines (embedding and reranking)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# One input: a text, or token ids of the model's own tokenizer.
EmbeddingInput = str | Sequence[int]


@dataclass(frozen=True)
class EmbedRequest:
    """Inputs of one embedding call, validated for shape by the application service.

    ``prompt``: the text of the model's own prompt (chosen by the application from the
    model's prompts) to prepend to every text input, as sentence-transformers'
    ``encode(prompt_name=...)`` does; never set together with ``instruction``.
    """

    inputs: Sequence[EmbeddingInput]
    instruction: str | None = None
    dimensions: int | None = None
    truncate: bool = True
    # Keep only the last max_tokens tokens of each input, specials included (vLLM's
    # truncate_prompt_tokens); None: the model's maximum, cut at the end.
    max_tokens: int | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class EmbedResult:
    """Vectors in request order.

    ``vectors`` is a float32 matrix (rows = inputs); engines return a numpy array, which the
    domain only treats as a sequence of rows of floats.
    """

    vectors: Sequence[Sequence[float]]
    prompt_tokens: int
    truncated_inputs: int = 0


@dataclass(frozen=True)
class RerankRequest:
    query: str
    documents: Sequence[str]
    instruction: str | None = None
    max_tokens_per_doc: int | None = None


@dataclass(frozen=True)
class RerankResult:
    """One relevance score in [0, 1] per document, in request order."""

    scores: Sequence[float]
    prompt_tokens: int
    truncated_documents: int = 0


@dataclass(frozen=True)
class TokenizeResult:
    token_ids: Sequence[Sequence[int]]
