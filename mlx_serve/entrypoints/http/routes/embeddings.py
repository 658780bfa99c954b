"""``POST /v1/embeddings`` (also ``/embeddings``): the OpenAI embeddings API, plus
``instruction``, ``truncate``, ``token_id_vocabulary``, ``input_type`` and ``prompt_name``."""

from __future__ import annotations

import asyncio

import numpy as np
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw

from mlx_serve.entrypoints.http import response_models as out
from mlx_serve.entrypoints.http.embedding_shapes import embeddings_response
from mlx_serve.entrypoints.http.json_body import dumps
from mlx_serve.entrypoints.http.openapi import documented
from mlx_serve.entrypoints.http.schemas import EmbeddingsBody, parse_body

# Encoding a response this large (floats in the matrix) takes long enough to stall other
# requests; do it on a worker thread instead of the event loop.
_OFFLOAD_FLOATS = 64 * 1024


def blueprint() -> Blueprint:
    bp = Blueprint("embeddings")
    bp.add_route(create_embeddings, "/v1/embeddings", methods=["POST"])
    # Un-prefixed, for clients given the server root as base URL (litellm infinity/, TEI's).
    bp.add_route(create_embeddings, "/embeddings", methods=["POST"], name="embeddings_root")
    return bp


@documented(summary="Create embeddings (OpenAI)", body=EmbeddingsBody,
            response=out.EmbeddingsResponse, response_headers=("X-Truncated-Inputs",))
async def create_embeddings(request: Request) -> HTTPResponse:
    body = parse_body(request, EmbeddingsBody)
    services = request.app.ctx.services
    _, result = await services.embedding.embed(
        body.model,
        body.input,
        instruction=body.instruction,
        dimensions=body.dimensions,
        truncate=body.truncate,
        token_id_vocabulary=body.token_id_vocabulary,
        truncate_prompt_tokens=body.truncate_prompt_tokens,
        prompt_name=body.prompt_name,
        input_type=body.input_type,
    )
    vectors = np.asarray(result.vectors, dtype=np.float32)
    if vectors.ndim != 2:
        vectors = vectors.reshape(len(result.vectors), -1)
    args = (vectors, body.encoding_format or "float", body.model, int(result.prompt_tokens))
    if vectors.size > _OFFLOAD_FLOATS:
        payload = await asyncio.to_thread(lambda: dumps(embeddings_response(*args)))
    else:
        payload = dumps(embeddings_response(*args))
    return raw(
        payload,
        content_type="application/json",
        headers={"X-Truncated-Inputs": str(int(result.truncated_inputs))},
    )
