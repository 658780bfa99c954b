"""Wiring for background servers (start/status/stop) and the OS user service.

Kept apart from the container: these commands need only the standard-library adapters, so
``status`` and ``stop`` never pay for importing MLX.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlx_serve.config.quick import QuickSettings
    from mlx_serve.config.settings import Settings


def lifecycle(settings: Settings | QuickSettings) -> Any:
    """ServerLifecycle over POSIX processes and PID files under ``$MLX_SERVE_HOME/run``."""
    from mlx_serve.adapters.process.pidfiles import PidFileRegistry
    from mlx_serve.adapters.process.processes import PosixProcessControl
    from mlx_serve.application.clock import SystemClock
    from mlx_serve.application.lifecycle import ServerLifecycle

    return ServerLifecycle(
        PosixProcessControl(), PidFileRegistry(settings.run_dir), SystemClock(), settings.logs_dir
    )


def service_control(settings: Settings | QuickSettings) -> Any:
    """ServiceControl over launchd (macOS) or systemd --user (elsewhere)."""
    from mlx_serve.application.service_control import (
        ServiceControl,
        service_definition,
        withheld_secrets,
    )

    definition = service_definition(
        python=sys.executable,
        home=settings.home,
        logs_dir=settings.logs_dir,
        environment=os.environ,
        # The unit's stop timeout must cover the drain as well as the graceful stop.
        graceful_timeout_seconds=settings.drain_seconds + settings.graceful_timeout_seconds,
    )
    if sys.platform == "darwin":
        from mlx_serve.adapters.launchd import LaunchdAgentService

        return ServiceControl(
            LaunchdAgentService(definition, Path.home() / "Library" / "LaunchAgents"),
            withheld_secrets(os.environ),
        )
    from mlx_serve.adapters.systemd import SystemdUserService

    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return ServiceControl(
        SystemdUserService(definition, config / "systemd" / "user"), withheld_secrets(os.environ)
    )


def cli_fields(settings: Settings | QuickSettings) -> dict[str, Any]:
    """The CliContext fields these commands use."""
    return {"lifecycle": lifecycle(settings), "service_control": service_control(settings)}
