"""Run the HTTP server in this process: one Sanic process, MLX on its compute thread."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import NoReturn

from loguru import logger as log
from sanic import Sanic

from mlx_serve.adapters.mlx.runtime.blas import active_blas
from mlx_serve.adapters.mlx.runtime.cpu_kernels import missing_compiler_warning
from mlx_serve.adapters.mlx.runtime.memory import apply_limits, memory_report
from mlx_serve.adapters.mlx.runtime.placement import Runtime
from mlx_serve.bootstrap.container import Container
from mlx_serve.bootstrap.operations import operations_options
from mlx_serve.entrypoints.http import draining, replica
from mlx_serve.entrypoints.http.app import create_app
from mlx_serve.entrypoints.http.guards import RequestGuards
from mlx_serve.entrypoints.http.server import serve
from mlx_serve.entrypoints.http.services import HttpServices


def build_app(container: Container) -> Sanic:
    """The Sanic app over the container's services, with start-up and shutdown hooks."""
    settings = container.settings()
    health = container.health()
    health.started_at = time.time()
    health.blas = active_blas()
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
        request_guards=RequestGuards.of(settings.allowed_origins, settings.allowed_hosts),
        header_timeout_seconds=settings.header_timeout_seconds,
        body_timeout_seconds=settings.body_timeout_seconds,
        max_connections=settings.max_connections,
        private_paths=_private_paths(settings.models_path, settings.home),
        ops=operations_options(settings, container.metrics()),
    )
    return app


def run_server(container: Container, host: str, port: int, preload: list[str]) -> NoReturn:
    """Serve on ``host:port`` until SIGINT/SIGTERM; requests in flight finish first.

    Does not return after a graceful stop: the process exits 0 at once (see below).
    """
    # Fail before binding, with a message naming the path, when the store cannot exist there.
    container.settings().models_path.mkdir(parents=True, exist_ok=True)
    app = build_app(container)
    settings = container.settings()
    replica.install(app, settings.replica_name or replica.default_name(socket.gethostname(), port))
    draining.install(app, container.health(), settings.drain_seconds)
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
    # The one line that says which BLAS MLX's CPU matmuls use (30x apart), and why not.
    log.info("BLAS: {}", active_blas() or "not chosen")
    compiler_warning = missing_compiler_warning(app.ctx.services.device)
    if compiler_warning is not None:
        log.warning(compiler_warning)
    serve(app, host, port)
    # Requests are drained, models unloaded, the compute thread joined. Leave now, skipping
    # interpreter teardown: MLX's C++ static destructors occasionally race its worker threads
    # there and abort ("terminate called without an active exception", exit -6) after an
    # otherwise clean stop, which a supervisor would report as a crash.
    log.complete()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _private_paths(models: Path, home: Path) -> list[tuple[str, str]]:
    """Directories error messages name by a placeholder, resolved and as configured."""
    pairs = []
    for path, placeholder in ((models, "<models>"), (home, "<mlx-serve home>"),
                              (Path.home(), "~")):
        for spelling in {str(path), str(path.resolve())}:
            pairs.append((spelling, placeholder))
    return pairs


def _describe_device(device: str) -> str:
    """The MLX device models run on, e.g. ``cpu`` or ``gpu``; called on the compute thread."""
    kind = Runtime(device=device).mlx_device()  # mx.cpu or mx.gpu (a DeviceType)
    return getattr(kind, "name", str(kind))
