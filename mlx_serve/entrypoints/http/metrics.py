"""``GET /metrics`` (Prometheus text format) and the per-request measurements behind it.

The route only renders what the observer has collected: scraping never touches the model
cache, so it never loads a model. Requests are labelled by route pattern (``unmatched`` for
paths no route serves), never by the raw path, so label sets stay bounded.
"""

from __future__ import annotations

import time

from sanic import Blueprint, Request, Sanic
from sanic.response import BaseHTTPResponse, HTTPResponse, raw

from mlx_serve.domain.metrics import InferenceObserver, MetricsExporter
from mlx_serve.entrypoints.http.openapi import documented

PATH = "/metrics"


def install(app: Sanic, observer: InferenceObserver, exporter: MetricsExporter | None) -> None:
    """Time every request; serve ``/metrics`` when there is an exporter."""

    async def _begin(request: Request) -> None:
        request.ctx.began = time.perf_counter()

    async def _end(request: Request, response: BaseHTTPResponse) -> None:
        began = getattr(request.ctx, "began", None)
        if began is None:
            return
        route = getattr(request, "route", None)
        pattern = "/" + route.path if route is not None else "unmatched"
        observer.request_finished(
            pattern, request.method, response.status, time.perf_counter() - began
        )

    app.register_middleware(_begin, "request", priority=90)
    app.register_middleware(_end, "response", priority=90)
    if exporter is None:
        return

    @documented(summary="Prometheus metrics (text format); never loads a model",
                content_types={"text/plain": None}, tags=("Server",))
    async def metrics(request: Request) -> HTTPResponse:
        body, content_type = exporter.exposition()
        return raw(body, content_type=content_type)

    bp = Blueprint("metrics")
    bp.add_route(metrics, PATH, methods=["GET"])
    app.blueprint(bp)
