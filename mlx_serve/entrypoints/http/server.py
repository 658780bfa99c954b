"""Run the app: one process, on the calling thread, until SIGINT/SIGTERM (then drain)."""

from __future__ import annotations

from sanic import Sanic

from mlx_serve.entrypoints.http.protocol import GuardedHttpProtocol


def serve(app: Sanic, host: str, port: int, *, access_log: bool = False) -> None:
    """Serve ``app`` on ``host:port`` in this process; returns after a graceful shutdown.

    Sanic handles SIGINT/SIGTERM: it stops accepting, lets requests in flight finish (up to
    ``GRACEFUL_SHUTDOWN_TIMEOUT``) and runs the ``before/after_server_stop`` listeners.
    The protocol adds header/body deadlines, a connection cap and strict framing.
    """
    app.run(
        host=host,
        port=port,
        single_process=True,
        access_log=access_log,
        motd=False,
        debug=False,
        auto_reload=False,
        protocol=GuardedHttpProtocol,
    )
