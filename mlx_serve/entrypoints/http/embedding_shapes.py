"""The OpenAI embeddings response as pydantic models, and the mapping from an EmbedResult.

One shape serves every OpenAI-style client: the openai SDK, LangChain, LlamaIndex, litellm,
and infinity's and vLLM's clients, which also read ``id`` and ``created``.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from mlx_serve.domain.errors import MlxServeError


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    # A list of floats, or base64 of little-endian float32 bytes (encoding_format=base64).
    embedding: list[float] | str
    index: int


class EmbeddingsResponse(BaseModel):
    """``POST /v1/embeddings`` (and ``/embeddings``)."""

    id: str
    object: Literal["list"] = "list"
    created: int
    model: str
    data: list[Embedding]
    usage: Usage


def embeddings_response(
    vectors: np.ndarray, fmt: str, model: str, prompt_tokens: int
) -> EmbeddingsResponse:
    """The response for ``vectors`` (float32 rows); raises MlxServeError (500) on NaN/Inf."""
    if not np.isfinite(vectors).all():
        # JSON cannot carry NaN/Inf and a client would silently store garbage: this is a fault
        # of the model or engine, so it is a server error with a message saying so.
        raise MlxServeError(f"model '{model}' produced non-finite values (NaN/Inf)")
    rows: Any
    if fmt == "base64":
        little = vectors.astype("<f4", copy=False)
        rows = [base64.b64encode(row.tobytes()).decode("ascii") for row in little]
    else:
        # numpy rows are written by orjson as they are (see json_body).
        rows = np.ascontiguousarray(vectors, dtype=np.float32)
    data = [
        Embedding.model_construct(object="embedding", embedding=row, index=index)
        for index, row in enumerate(rows)
    ]
    return EmbeddingsResponse.model_construct(
        id=f"embd-{uuid.uuid4().hex}",
        object="list",
        created=int(time.time()),
        model=model,
        data=data,
        usage=Usage.model_construct(prompt_tokens=prompt_tokens, total_tokens=prompt_tokens),
    )
