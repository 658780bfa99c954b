"""Production operations on the app: request ids, API keys, CORS, metrics, API description.

``create_app`` installs them all from one OperationsOptions; the defaults (no keys, no CORS,
no exporter) give a local server whose only additions are ``X-Request-Id``,
``/openapi.json`` and ``/docs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sanic import Sanic

from mlx_serve.application.access import AccessPolicy
from mlx_serve.domain.metrics import NO_METRICS, InferenceObserver, MetricsExporter
from mlx_serve.entrypoints.http import auth, cors, docs, metrics, request_id


@dataclass(frozen=True)
class OperationsOptions:
    access: AccessPolicy = field(default_factory=AccessPolicy)
    metrics_require_key: bool = True
    allowed_origins: tuple[str, ...] = ()
    observer: InferenceObserver = NO_METRICS
    exporter: MetricsExporter | None = None


def install(app: Sanic, options: OperationsOptions) -> None:
    """Register the middleware (ordered by priority: id, timing, CORS, auth) and routes."""
    request_id.install(app)
    metrics.install(app, options.observer, options.exporter)
    cors.install(app, options.allowed_origins)
    auth.install(app, options.access, metrics_require_key=options.metrics_require_key)
    docs.install(app)
