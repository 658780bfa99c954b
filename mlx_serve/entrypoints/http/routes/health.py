"""``GET /health``: 200 while serving, 503 while starting or draining."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from mlx_serve.entrypoints.http import response_models as out
from mlx_serve.entrypoints.http.ollama_shapes import rfc3339
from mlx_serve.entrypoints.http.openapi import documented
from mlx_serve.entrypoints.http.routes import probes


def blueprint() -> Blueprint:
    bp = Blueprint("health")
    bp.add_route(health, "/health", methods=["GET"])
    probes.add_routes(bp)  # /health/live, /health/ready
    return bp


@documented(summary="Health: 200 serving, 503 starting or draining",
            response=out.HealthResponse, statuses={"503": out.HealthResponse}, tags=("Server",))
async def health(request: Request) -> HTTPResponse:
    services = request.app.ctx.services
    state = services.health
    resident = services.cache.loaded()
    body = {
        "status": state.status,
        "version": services.version,
        "device": services.device,
        "models_loaded": [model.info.name for model in resident],
        # The cache's view: when each model will be unloaded if nobody uses it (null: never).
        "models": [
            {
                "name": model.info.name,
                "type": model.info.type.value,
                "expires_at": rfc3339(model.expires_at),
                "in_use": model.in_use,
                "memory_bytes": model.memory_bytes,
                "engine": model.engine,  # mlx or onnxruntime (decision 22)
            }
            for model in resident
        ],
    }
    if state.blas is not None:
        body["blas"] = state.blas
    if "replica" in services.extras:
        body["replica"] = services.extras["replica"]  # which replica answered, behind a balancer
    if "memory" in services.extras:  # MLX's allocator: in use, peak, cached, limits
        body["memory"] = services.extras["memory"]()
    if state.preload_failures:
        # Not fatal (the server serves the other models) but an operator must see it.
        body["preload_failures"] = dict(state.preload_failures)
    return json(body, status=200 if state.serving else 503)
