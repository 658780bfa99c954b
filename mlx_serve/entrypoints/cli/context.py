"""What CLI commands are given to work with, built by the composition root after parsing.

Type-only imports: this module is imported on every TAB completion and must stay light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlx_serve.application.catalog import ModelCatalog
    from mlx_serve.application.lifecycle import ServerLifecycle
    from mlx_serve.application.service_control import ServiceControl
    from mlx_serve.config.quick import QuickSettings
    from mlx_serve.config.settings import Settings

# serve(host, port, preload) runs the HTTP server in this process until it is stopped and
# returns the exit code.
ServeFunction = Callable[[str, int, "list[str]"], int]


@dataclass(frozen=True)
class CliContext:
    """Application services for CLI commands (``mlx_serve.bootstrap.cli_context`` builds it).

    Commands that manage background servers and OS services get more fields here, each with
    a default, so that adding one never breaks an existing builder.
    """

    # QuickSettings for the light commands (status, stop, list, show): the same field names.
    settings: Settings | QuickSettings
    catalog: ModelCatalog
    serve: ServeFunction
    # Background servers (start/status/stop) and the OS user service; None until wired.
    lifecycle: ServerLifecycle | None = None
    service_control: ServiceControl | None = None
