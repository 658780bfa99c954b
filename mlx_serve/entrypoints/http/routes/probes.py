"""``GET /health/live`` and ``GET /health/ready``: the two questions a balancer asks.

Liveness: is the process running and its event loop answering? Always 200 while it does, so
an orchestrator restarts it only when it hangs or dies, never while it loads models or drains.
Readiness: should traffic be sent here? 200 only once preloads are in memory; 503 while
starting and while draining. ``/health`` keeps its own, older shape for existing clients.
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json


def add_routes(bp: Blueprint) -> None:
    """Put the probes on ``bp`` (the ``/health`` blueprint, so every app built has them)."""
    bp.add_route(live, "/health/live", methods=["GET"])
    bp.add_route(ready, "/health/ready", methods=["GET"])


async def live(request: Request) -> HTTPResponse:
    return json({"status": "alive", "replica": _replica(request)})


async def ready(request: Request) -> HTTPResponse:
    state = request.app.ctx.services.health
    body = {"status": state.status, "ready": state.serving, "replica": _replica(request)}
    return json(body, status=200 if state.serving else 503)


def _replica(request: Request) -> str | None:
    return request.app.ctx.services.extras.get("replica")
