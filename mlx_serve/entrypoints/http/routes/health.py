"""``GET /health``: 200 while serving, 503 while starting or draining."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json


def blueprint() -> Blueprint:
    bp = Blueprint("health")
    bp.add_route(health, "/health", methods=["GET"])
    return bp


async def health(request: Request) -> HTTPResponse:
    services = request.app.ctx.services
    state = services.health
    body = {
        "status": state.status,
        "version": services.version,
        "device": services.device,
        "models_loaded": [resident.info.name for resident in services.cache.loaded()],
    }
    if state.preload_failures:
        # Not fatal (the server serves the other models) but an operator must see it.
        body["preload_failures"] = dict(state.preload_failures)
    return json(body, status=200 if state.serving else 503)
