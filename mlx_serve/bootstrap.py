"""Composition root — MINIMAL STAND-IN written by the store/CLI helper so the CLI runs end
to end; the lead replaces it with the dependency-injector container.

Contract the CLI relies on: ``cli_context(settings) -> CliContext``.
"""

from __future__ import annotations

from mlx_serve.config.settings import Settings
from mlx_serve.entrypoints.cli.context import CliContext


def cli_context(settings: Settings) -> CliContext:
    """Services for CLI commands. Adapters are imported here, after argument parsing."""
    from mlx_serve.adapters.mlx.blas import activate_blas

    activate_blas(settings.blas_library)  # before anything can import mlx.core

    from mlx_serve.adapters.mlx.converter import MlxConverter
    from mlx_serve.adapters.store import FilesystemModelStore, LocalDirectoryRepository
    from mlx_serve.application.catalog import ModelCatalog

    store = FilesystemModelStore(settings.models_path)
    catalog = ModelCatalog(
        store,
        [LocalDirectoryRepository()],
        MlxConverter(),
        settings.aliases,
        quantize_group_size=settings.quantize_group_size,
    )
    return CliContext(settings=settings, catalog=catalog, serve=_serve_not_wired)


def _serve_not_wired(host: str, port: int, preload: list[str]) -> int:
    from mlx_serve.domain.errors import MlxServeError

    raise MlxServeError("the HTTP server is not wired into the composition root yet")
