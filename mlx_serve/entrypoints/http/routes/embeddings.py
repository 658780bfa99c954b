"""``POST /v1/embeddings``: the OpenAI embeddings API, plus ``instruction``, ``truncate``,
``input_type`` and ``prompt_name``."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import numpy as np
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw

from mlx_serve.domain.errors import MlxServeError
from mlx_serve.entrypoints.http.schemas import EmbeddingsBody, parse_body

# Encoding a response this large (floats in the matrix) takes long enough to stall other
# requests; do it on a worker thread instead of the event loop.
_OFFLOAD_FLOATS = 64 * 1024


def blueprint() -> Blueprint:
    bp = Blueprint("embeddings")
    bp.add_route(create_embeddings, "/v1/embeddings", methods=["POST"])
    return bp


async def create_embeddings(request: Request) -> HTTPResponse:
    body = parse_body(request, EmbeddingsBody)
    services = request.app.ctx.services
    _, result = await services.embedding.embed(
        body.model,
        body.input,
        instruction=body.instruction,
        dimensions=body.dimensions,
        truncate=body.truncate,
        prompt_name=body.prompt_name,
        input_type=body.input_type,
    )
    vectors = np.asarray(result.vectors, dtype=np.float32)
    if vectors.ndim != 2:
        vectors = vectors.reshape(len(result.vectors), -1)
    fmt = body.encoding_format or "float"
    args = (vectors, fmt, body.model, int(result.prompt_tokens))
    if vectors.size > _OFFLOAD_FLOATS:
        payload = await asyncio.to_thread(encode_response, *args)
    else:
        payload = encode_response(*args)
    return raw(
        payload,
        content_type="application/json",
        headers={"X-Truncated-Inputs": str(int(result.truncated_inputs))},
    )


def encode_response(vectors: np.ndarray, fmt: str, model: str, prompt_tokens: int) -> bytes:
    """The response body; raises MlxServeError (500) rather than emit NaN or Inf."""
    if not np.isfinite(vectors).all():
        # JSON cannot carry NaN/Inf and a client would silently store garbage: this is a fault
        # of the model or engine, so it is a server error with a message saying so.
        raise MlxServeError(f"model '{model}' produced non-finite values (NaN/Inf)")
    data: list[dict[str, Any]] = []
    if fmt == "base64":
        little = vectors.astype("<f4", copy=False)
        for index, row in enumerate(little):
            encoded = base64.b64encode(row.tobytes()).decode("ascii")
            data.append({"object": "embedding", "embedding": encoded, "index": index})
    else:
        for index, row in enumerate(vectors.tolist()):
            data.append({"object": "embedding", "embedding": row, "index": index})
    body = {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
    return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
