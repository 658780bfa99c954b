"""The composition root of the light commands (`status`, `stop`, `list`, `show`).

Standard-library adapters only: no container, no MLX, no Sanic, no huggingface_hub, no
pydantic (decision 18). These commands read installed models and PID files; they never pull,
so their catalog has no repositories and no converter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from pathlib import Path

    from mlx_serve.config.quick import QuickSettings
    from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint
    from mlx_serve.entrypoints.cli.context import CliContext


class _NoConversion:
    """The converter of a catalog that only lists and shows."""

    def convert(
        self, checkpoint: FetchedCheckpoint, destination: Path, options: ConversionOptions
    ) -> NoReturn:
        raise NotImplementedError("the light commands never install models")


def _no_server(host: str, port: int, preload: list[str]) -> NoReturn:
    raise NotImplementedError("the light commands never run the server")


def quick_cli_context(settings: QuickSettings) -> CliContext:
    """A CliContext for the light commands (``serve`` is not available in it)."""
    from mlx_serve.adapters.store.filesystem_store import FilesystemModelStore
    from mlx_serve.application.catalog import ModelCatalog
    from mlx_serve.bootstrap import ops
    from mlx_serve.entrypoints.cli.context import CliContext

    catalog = ModelCatalog(
        FilesystemModelStore(settings.models_path), [], _NoConversion(), settings.aliases
    )
    return CliContext(
        settings=settings, catalog=catalog, serve=_no_server, **ops.cli_fields(settings)
    )
