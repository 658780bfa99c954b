"""``GET /health``: 200 while serving, 503 while starting or draining."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from mlx_serve.entrypoints.http.ollama_shapes import rfc3339


def blueprint() -> Blueprint:
    bp = Blueprint("health")
    bp.add_route(health, "/health", methods=["GET"])
    return bp


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
            }
            for model in resident
        ],
    }
    if "memory" in services.extras:  # MLX's allocator: in use, peak, cached, limits
        body["memory"] = services.extras["memory"]()
    if state.preload_failures:
        # Not fatal (the server serves the other models) but an operator must see it.
        body["preload_failures"] = dict(state.preload_failures)
    return json(body, status=200 if state.serving else 503)
