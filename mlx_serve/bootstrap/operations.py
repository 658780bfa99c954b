"""The HTTP app's production options from the settings: keys, CORS, metrics.

Apart from the container so that an app over other services (tests' fake engines) gets the
very same options without importing MLX.
"""

from __future__ import annotations

from loguru import logger as log

from mlx_serve.application.access import AccessPolicy
from mlx_serve.config.keys import is_loopback, load_api_keys
from mlx_serve.config.settings import Settings
from mlx_serve.domain.metrics import InferenceObserver
from mlx_serve.entrypoints.http.operations import OperationsOptions


def operations_options(
    settings: Settings, metrics: InferenceObserver | None = None
) -> OperationsOptions:
    """Keys are read now, so a bad key file stops the start before the port is bound.

    ``metrics`` is the observer; when it also renders (a MetricsExporter), ``/metrics`` serves
    it.
    """
    keys = load_api_keys(settings)
    if not keys.any and not is_loopback(settings.host):
        log.warning(
            "listening on {} without an API key: anyone who can reach this port can use and "
            "manage models; set MLX_SERVE_API_KEY (or MLX_SERVE_API_KEY_FILE)", settings.host,
        )  # fmt: skip
    if metrics is None:
        from mlx_serve.adapters.metrics.prometheus import PrometheusMetrics

        metrics = PrometheusMetrics()
    exporter = metrics if hasattr(metrics, "exposition") else None
    return OperationsOptions(
        access=AccessPolicy(keys.inference, keys.admin),
        metrics_require_key=settings.metrics_require_key,
        allowed_origins=tuple(settings.allowed_origins),
        observer=metrics,
        exporter=exporter,  # type: ignore[arg-type]
    )


