"""The Ollama-compatible API: model management and embeddings under ``/api``.

Errors are ``{"error": "<message>"}`` (the shared error handler picks that envelope for
``/api/*``). ``POST /api/pull`` lives in ``ollama_pull.py``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from mlx_serve.domain.errors import InvalidRequest, MlxServeError
from mlx_serve.entrypoints.http import ollama_shapes as shapes
from mlx_serve.entrypoints.http import response_models as out
from mlx_serve.entrypoints.http.ollama_bodies import (
    EmbedBody,
    LegacyEmbeddingsBody,
    NamedBody,
    keep_alive_seconds,
    model_reference,
    text_inputs,
)
from mlx_serve.entrypoints.http.ollama_pull import pull
from mlx_serve.entrypoints.http.openapi import documented
from mlx_serve.entrypoints.http.schemas import parse_body


def blueprint() -> Blueprint:
    bp = Blueprint("ollama")
    bp.add_route(tags, "/api/tags", methods=["GET"])
    bp.add_route(show, "/api/show", methods=["POST"])
    bp.add_route(delete, "/api/delete", methods=["DELETE"])
    bp.add_route(running, "/api/ps", methods=["GET"])
    bp.add_route(version, "/api/version", methods=["GET"])
    bp.add_route(embed, "/api/embed", methods=["POST"])
    bp.add_route(embeddings, "/api/embeddings", methods=["POST"])
    bp.add_route(pull, "/api/pull", methods=["POST"])
    return bp


@documented(summary="List installed models (Ollama)", response=out.OllamaTags)
async def tags(request: Request) -> HTTPResponse:
    infos = await asyncio.to_thread(request.app.ctx.services.catalog.list)
    return json({"models": [shapes.model_entry(info) for info in infos]})


@documented(summary="Show a model (Ollama)", body=NamedBody, response=out.OllamaShow)
async def show(request: Request) -> HTTPResponse:
    ref = parse_body(request, NamedBody).reference()
    info = await asyncio.to_thread(request.app.ctx.services.catalog.resolve, ref)
    return json(shapes.show(info))


@documented(summary="Delete a model (Ollama; admin key)", body=NamedBody)
async def delete(request: Request) -> HTTPResponse:
    services = request.app.ctx.services
    ref = parse_body(request, NamedBody).reference()
    info = await asyncio.to_thread(services.catalog.resolve, ref)
    # Off the disk first (an atomic rename), so no request can load the model again in
    # between; then out of memory. Requests in flight keep their loaded copy until they end.
    await asyncio.to_thread(services.catalog.remove, info.name)
    await services.cache.unload(info.name)
    return HTTPResponse(status=200)


@documented(summary="Models in memory (Ollama)", response=out.OllamaRunning)
async def running(request: Request) -> HTTPResponse:
    services = request.app.ctx.services
    models = [shapes.running_entry(r, services.device) for r in services.cache.loaded()]
    body: dict[str, object] = {"models": models}
    if "memory" in services.extras:  # our addition: MLX's allocator, as on /health
        body["memory"] = services.extras["memory"]()
    return json(body)


@documented(summary="Server version (Ollama)", response=out.OllamaVersion)
async def version(request: Request) -> HTTPResponse:
    return json({"version": request.app.ctx.services.version})


@documented(summary="Embed inputs (Ollama)", body=EmbedBody, response=out.OllamaEmbed)
async def embed(request: Request) -> HTTPResponse:
    body = parse_body(request, EmbedBody)
    inputs = text_inputs(body.input)
    began = time.perf_counter_ns()
    _, result = await request.app.ctx.services.embedding.embed(
        model_reference(body.model),
        inputs,
        dimensions=body.dimensions,
        truncate=body.truncate,
        keep_alive=keep_alive_seconds(body.keep_alive),
        prompt_name=body.prompt_name,
        input_type=body.input_type,
    )
    vectors = _normalized(result.vectors, body.model)
    return json({
        "model": body.model,
        "embeddings": vectors,
        "total_duration": time.perf_counter_ns() - began,
        "load_duration": 0,
        "prompt_eval_count": int(result.prompt_tokens),
    })


@documented(summary="Embed one prompt (Ollama, legacy)", body=LegacyEmbeddingsBody,
            response=out.OllamaLegacyEmbedding)
async def embeddings(request: Request) -> HTTPResponse:
    """The legacy endpoint: one ``prompt`` in, one ``embedding`` out."""
    body = parse_body(request, LegacyEmbeddingsBody)
    if not isinstance(body.prompt, str):
        raise InvalidRequest("'prompt' must be a string", param="prompt")
    _, result = await request.app.ctx.services.embedding.embed(
        model_reference(body.model), [body.prompt],
        keep_alive=keep_alive_seconds(body.keep_alive),
    )
    return json({"embedding": _normalized(result.vectors, body.model)[0]})


def _normalized(vectors: Any, model: str) -> list[list[float]]:
    """L2-normalised rows as lists (Ollama's promise); never NaN/Inf in JSON."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if not np.isfinite(matrix).all():
        raise MlxServeError(f"model '{model}' produced non-finite values (NaN/Inf)")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = matrix / np.where(norms > 0, norms, 1.0)
    return matrix.tolist()
