"""The composition root: builds the object graph for the CLI and the HTTP server.

The only package that imports ``dependency_injector`` and concrete adapters (see
architecture/importlinter.ini). Heavy imports happen inside functions, after the command line
has been parsed, and after the optimised BLAS is loaded (it must precede ``mlx.core``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlx_serve.bootstrap.container import Container
    from mlx_serve.config.settings import Settings
    from mlx_serve.entrypoints.cli.context import CliContext


def build_container(settings: Settings) -> Container:
    """The container for ``settings``, with the BLAS chosen before MLX is imported."""
    from mlx_serve.adapters.mlx.runtime.blas import activate_blas

    activate_blas(settings.blas_library, settings.blas_threads)
    from mlx_serve.bootstrap.container import Container

    return Container(settings=settings)


def cli_context(settings: Settings) -> CliContext:
    """What CLI commands work with; ``serve`` runs the HTTP server in this process."""
    from mlx_serve.entrypoints.http.logging import configure_logging

    # Commands other than the server print their own results; only warnings belong beside them.
    quiet = settings.log_level if settings.log_level in ("TRACE", "DEBUG") else "WARNING"
    configure_logging(quiet)
    from mlx_serve.entrypoints.cli.context import CliContext

    container = build_container(settings)

    def serve(host: str, port: int, preload: list[str]) -> int:
        from mlx_serve.bootstrap.server import run_server

        configure_logging(settings.log_level, fmt=settings.log_format)
        return run_server(container, host, port, preload)

    from mlx_serve.bootstrap import ops

    return CliContext(
        settings=settings, catalog=container.catalog(), serve=serve, **ops.cli_fields(settings)
    )
