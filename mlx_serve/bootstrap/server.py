"""Run the HTTP server in this process: one Sanic process, MLX on its compute thread."""

from __future__ import annotations

import os
import sys
import time
from typing import NoReturn

from loguru import logger as log
from sanic import Sanic

from mlx_serve.adapters.mlx.memory import apply_limits, memory_report
from mlx_serve.adapters.mlx.runtime import Runtime
from mlx_serve.bootstrap.container import Container
from mlx_serve.entrypoints.http.app import create_app
from mlx_serve.entrypoints.http.server import serve
from mlx_serve.entrypoints.http.services import HttpServices


def build_app(container: Container) -> Sanic:
    """The Sanic app over the container's services, with start-up and shutdown hooks."""
    settings = container.settings()
    health = container.health()
    health.started_at = time.time()
    services = HttpServices(
        embedding=container.embedding(),
        rerank=container.rerank(),
        catalog=container.catalog(),
        cache=container.cache(),
        health=health,
        version=container.version(),
        device=container.compute().call(_describe_device, settings.device),
    )
    services.extras["pulls"] = container.pull_jobs()
    # MLX's allocator limits, before any model loads; /health and /api/ps report usage.
    limits = container.compute().call(
        apply_limits, settings.mlx_memory_limit_bytes, settings.mlx_cache_limit_bytes,
        services.device.lower().startswith("gpu"))
    services.extras["memory"] = lambda: memory_report(limits)
    if settings.auto_download:
        services.extras["auto_download"] = container.auto_downloader()
    app = create_app(
        services,
        max_request_bytes=settings.max_request_bytes,
        graceful_timeout_seconds=settings.graceful_timeout_seconds,
        mark_ready_on_start=False,  # the Preloader marks the server ready
    )
    return app


def run_server(container: Container, host: str, port: int, preload: list[str]) -> NoReturn:
    """Serve on ``host:port`` until SIGINT/SIGTERM; requests in flight finish first.

    Does not return after a graceful stop: the process exits 0 at once (see below).
    """
    # Fail before binding, with a message naming the path, when the store cannot exist there.
    container.settings().models_path.mkdir(parents=True, exist_ok=True)
    app = build_app(container)
    cache = container.cache()
    preloader = container.preloader()

    @app.before_server_start
    async def _start(app: Sanic) -> None:
        container.store().clean_stale()
        cache.start_sweeper()
        preloader.start(preload)

    @app.after_server_stop
    async def _stop(app: Sanic) -> None:
        await preloader.close()
        await cache.close()
        container.compute().close()

    log.info(
        "mlx-serve {} on http://{}:{} (device: {})",
        container.version(), host, port, app.ctx.services.device,
    )
    serve(app, host, port)
    # Requests are drained, models unloaded, the compute thread joined. Leave now, skipping
    # interpreter teardown: MLX's C++ static destructors occasionally race its worker threads
    # there and abort ("terminate called without an active exception", exit -6) after an
    # otherwise clean stop, which a supervisor would report as a crash.
    log.complete()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _describe_device(device: str) -> str:
    """The MLX device models run on, e.g. ``cpu`` or ``gpu``; called on the compute thread."""
    kind = Runtime(device=device).mlx_device()  # mx.cpu or mx.gpu (a DeviceType)
    return getattr(kind, "name", str(kind))
