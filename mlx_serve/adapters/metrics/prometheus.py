"""The InferenceObserver and MetricsExporter ports on ``prometheus-client``.

Each server gets its own ``CollectorRegistry`` (not the library's global one), so tests and
embedders can build several. Series are prefixed ``mlx_serve_``. Label values are route
patterns and installed model names, both bounded sets, never raw paths or client input.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Seconds: from a cached small request (ms) to a large batch on a CPU (minutes).
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip
LOAD_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class PrometheusMetrics:
    """Counters, gauges and histograms of one server."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self._requests = Counter(
            "mlx_serve_http_requests", "HTTP requests answered, by route pattern and status",
            ["route", "method", "status"], registry=r,
        )
        self._request_seconds = Histogram(
            "mlx_serve_http_request_duration_seconds", "HTTP request latency (total)",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self._inference_seconds = Histogram(
            "mlx_serve_inference_duration_seconds",
            "Model work per request (embed/rerank), queue wait included",
            ["model", "kind"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self._tokens = Counter(
            "mlx_serve_tokens", "Tokens processed (rate() of it is tokens/s)",
            ["model", "kind"], registry=r,
        )
        self._queue_seconds = Histogram(
            "mlx_serve_queue_wait_seconds", "Time a request waited for its model's pass",
            ["model"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self._queued_tokens = Gauge(
            "mlx_serve_queued_tokens", "Tokens waiting in a model's queue", ["model"], registry=r,
        )
        self._batch_rows = Histogram(
            "mlx_serve_batch_rows", "Rows per forward pass", ["model"], buckets=ROW_BUCKETS,
            registry=r,
        )
        self._padded_tokens = Counter(
            "mlx_serve_batch_padded_tokens", "Padded tokens (rows x longest) of forward passes",
            ["model"], registry=r,
        )
        self._real_tokens = Counter(
            "mlx_serve_batch_real_tokens", "Real (unpadded) tokens of forward passes",
            ["model"], registry=r,
        )
        self._loaded = Gauge(
            "mlx_serve_models_loaded", "Models resident in memory", ["kind"], registry=r,
        )
        self._loads = Counter(
            "mlx_serve_model_loads", "Model loads", ["kind"], registry=r,
        )
        self._unloads = Counter(
            "mlx_serve_model_unloads", "Models unloaded (LRU/TTL eviction, delete, shutdown)",
            ["kind"], registry=r,
        )
        self._load_seconds = Histogram(
            "mlx_serve_model_load_duration_seconds", "Time to load a model", ["kind"],
            buckets=LOAD_BUCKETS, registry=r,
        )
        self._pulls_active = Gauge(
            "mlx_serve_pulls_in_progress", "Model pulls running now", registry=r,
        )
        self._pull_bytes = Counter(
            "mlx_serve_pull_bytes", "Bytes downloaded by pulls", registry=r,
        )
        for kind in ("embedding", "reranker"):  # both series exist from the first scrape
            self._loaded.labels(kind).set(0)

    # -- InferenceObserver ----------------------------------------------------------------

    def request_finished(self, route: str, method: str, status: int, seconds: float) -> None:
        self._requests.labels(route, method, str(status)).inc()
        self._request_seconds.labels(route, method).observe(seconds)

    def inference(self, model: str, kind: str, tokens: int, seconds: float) -> None:
        self._inference_seconds.labels(model, kind).observe(seconds)
        self._tokens.labels(model, kind).inc(max(0, tokens))

    def queue_wait(self, model: str, seconds: float) -> None:
        self._queue_seconds.labels(model).observe(max(0.0, seconds))

    def queued_tokens(self, model: str, tokens: int) -> None:
        self._queued_tokens.labels(model).set(tokens)

    def forward_batch(self, model: str, rows: int, padded_tokens: int, real_tokens: int) -> None:
        self._batch_rows.labels(model).observe(rows)
        self._padded_tokens.labels(model).inc(padded_tokens)
        self._real_tokens.labels(model).inc(real_tokens)

    def model_loaded(self, model: str, kind: str, seconds: float) -> None:
        self._loads.labels(kind).inc()
        self._loaded.labels(kind).inc()
        self._load_seconds.labels(kind).observe(seconds)

    def model_unloaded(self, model: str, kind: str) -> None:
        self._unloads.labels(kind).inc()
        self._loaded.labels(kind).dec()

    def pull_progress(self, started: int = 0, finished: int = 0, bytes_done: int = 0) -> None:
        self._pulls_active.inc(started - finished)
        if bytes_done > 0:
            self._pull_bytes.inc(bytes_done)

    # -- MetricsExporter ------------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
