"""Drain before stopping: on SIGTERM keep serving for a while, but report not ready.

A balancer with active health checks (Kubernetes readiness probes, HAProxy) only stops
sending once it has seen readiness fail. Sanic closes its listening socket as soon as it
stops, so without a pause a request routed in that window would meet a refused connection.
With ``seconds`` > 0 the server marks itself draining (``/health/ready`` answers 503), keeps
accepting and serving every request for ``seconds``, then closes its socket and lets the
requests in flight finish (Sanic's graceful timeout).
"""

from __future__ import annotations

import asyncio

from loguru import logger as log
from sanic import Sanic

from mlx_serve.application.health import HealthState


def install(app: Sanic, health: HealthState, seconds: float) -> None:
    """Hold the stop of ``app`` for ``seconds`` after marking ``health`` draining."""
    if seconds <= 0:
        return

    @app.before_server_stop
    async def _drain(app: Sanic) -> None:
        health.mark_draining()
        log.info("draining: still serving for {:g} s, reporting not ready", seconds)
        # Sanic stopped the loop on the signal; this listener runs it again, so requests
        # already accepted and new ones keep being served while we wait.
        await asyncio.sleep(seconds)
