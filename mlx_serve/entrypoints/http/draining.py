"""How a replica leaves: drain on SIGTERM so no client sees it go.

- **Drain delay.** A balancer with active health checks (Kubernetes readiness probes,
  HAProxy) stops sending only once it has seen readiness fail, and Sanic closes its listening
  socket as soon as it stops. With ``seconds`` > 0 the server marks itself draining
  (``/health/ready`` answers 503), keeps accepting and serving every request for ``seconds``,
  and only then closes its socket and lets the requests in flight finish.
- **No keep-alive while draining.** Sanic closes idle keep-alive connections when it stops,
  but a connection busy at that moment stays open after its response, and a balancer (or any
  client) keeps sending on it until the graceful timeout aborts it mid-request. Once draining,
  every response says ``Connection: close``, so each connection ends with the request it
  carries and the server exits as soon as those are done.
"""

from __future__ import annotations

import asyncio

from loguru import logger as log
from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse

from mlx_serve.application.health import HealthState, ServerPhase


def install(app: Sanic, health: HealthState, seconds: float) -> None:
    """Drain ``app`` on stop: close connections after their response; wait ``seconds``."""

    async def close_when_draining(request: Request, response: BaseHTTPResponse) -> None:
        if health.phase is ServerPhase.DRAINING and request.stream is not None:
            request.stream.keep_alive = False  # Sanic then sends "Connection: close"

    app.register_middleware(close_when_draining, "response")
    if seconds <= 0:
        return

    @app.before_server_stop
    async def _drain(app: Sanic) -> None:
        health.mark_draining()
        log.info("draining: still serving for {:g} s, reporting not ready", seconds)
        # Sanic stopped the loop on the signal; this listener runs it again, so requests
        # already accepted and new ones keep being served while we wait.
        await asyncio.sleep(seconds)
