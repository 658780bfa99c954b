"""The Sanic application factory: one blueprint per route module, services on ``app.ctx``.

The app runs in a single process (``serve``): Sanic's worker processes would each load every
model, and MLX work is serialised on one compute thread anyway.
"""

from __future__ import annotations

from collections.abc import Iterable

from sanic import Blueprint, Sanic

from mlx_serve.entrypoints.http import auto_download, guards, ollama, operations
from mlx_serve.entrypoints.http.errors import handle_exception
from mlx_serve.entrypoints.http.json_body import dumps
from mlx_serve.entrypoints.http.routes import (
    embeddings,
    health,
    models,
    rerank,
    rerank_dialects,
    tokenize,
)
from mlx_serve.entrypoints.http.services import HttpServices

DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024


def create_app(
    services: HttpServices,
    *,
    name: str = "mlx-serve",
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    response_timeout_seconds: float = 600.0,
    graceful_timeout_seconds: float = 30.0,
    extra_blueprints: Iterable[Blueprint] = (),
    mark_ready_on_start: bool = True,
    request_guards: guards.RequestGuards | None = None,
    header_timeout_seconds: float = 10.0,
    body_timeout_seconds: float = 30.0,
    max_connections: int = 512,
    private_paths: Iterable[tuple[str, str]] = (),
    ops: operations.OperationsOptions | None = None,
) -> Sanic:
    """Build the HTTP app over ``services``.

    ``extra_blueprints`` adds route modules owned elsewhere (reranking, Ollama, pulls); their
    handlers find the services at ``request.app.ctx.services``. With ``mark_ready_on_start``
    false, ``/health`` answers ``starting`` until the caller flips ``services.health`` (the
    Preloader does, once preloads are over). ``/health`` turns to ``draining`` when the server
    begins to stop. ``request_guards`` (Host/Origin/Content-Type/text checks) default to
    loopback only; the timeouts and the connection cap are read by ``protocol.py``.
    ``private_paths``: (directory, placeholder) pairs no error message may show.
    ``ops``: API keys, CORS, metrics (see operations.py).
    """
    # configure_logging=False: Sanic's own handlers would print beside loguru; see logging.py.
    # dumps: every JSON response (errors, Ollama's) is written by orjson, see json_body.
    app = Sanic(name, configure_logging=False, dumps=dumps)
    app.ctx.services = services
    app.ctx.private_paths = tuple(private_paths)
    app.config.REQUEST_MAX_SIZE = max_request_bytes
    # Sanic's default of 60 s would cut a large batch on a CPU short with a 503.
    app.config.RESPONSE_TIMEOUT = response_timeout_seconds
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = graceful_timeout_seconds
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.NOISY_EXCEPTIONS = False
    app.config.MOTD = False
    app.error_handler.add(Exception, handle_exception)
    # Read by GuardedHttpProtocol (protocol.py), which serve() runs the app with.
    app.config.HEADER_TIMEOUT = header_timeout_seconds
    app.config.BODY_TIMEOUT = body_timeout_seconds
    app.config.MAX_CONNECTIONS = max_connections
    guards.install(app, request_guards or guards.RequestGuards())

    for module in (embeddings, models, health, tokenize, rerank, rerank_dialects, ollama):
        app.blueprint(module.blueprint())
    for bp in extra_blueprints:
        app.blueprint(bp)
    operations.install(app, ops or operations.OperationsOptions())
    app.register_middleware(auto_download.before_request, "request")

    @app.after_server_start
    async def _ready(app: Sanic) -> None:
        if mark_ready_on_start:
            services.health.mark_ready()

    @app.before_server_stop
    async def _draining(app: Sanic) -> None:
        services.health.mark_draining()

    return app
