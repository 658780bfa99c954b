"""Running mlx-serve as the OS user service (launchd on macOS, systemd on Linux).

The service runs the foreground server (`python -m mlx_serve start --foreground`) with the
interpreter and environment of the person who installed it: a service starts with almost no
environment, so MLX_SERVE_* and PATH are written into the unit/plist.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from mlx_serve.domain.errors import ServiceError
from mlx_serve.domain.ports import ServiceDefinition, ServiceManager, ServiceStatus

# The manager waits this much longer than the server's drain before it kills the server.
STOP_MARGIN_SECONDS = 15
# Secrets never written into a unit file or plist (those are readable by other tools and
# backups); the service reads them from the files named by the *_FILE variables instead.
SECRET_VARIABLES = {
    "MLX_SERVE_API_KEY": "MLX_SERVE_API_KEY_FILE",
    "MLX_SERVE_ADMIN_API_KEY": "MLX_SERVE_ADMIN_API_KEY_FILE",
}


def service_definition(
    *,
    python: str,
    home: Path,
    logs_dir: Path,
    environment: Mapping[str, str],
    graceful_timeout_seconds: float,
) -> ServiceDefinition:
    """What the service runs. ``python`` is the current interpreter (absolute path)."""
    kept = {
        key: value
        for key, value in environment.items()
        if key.startswith("MLX_SERVE_") or key in ("PATH", "HF_HOME", "HF_ENDPOINT", "LANG")
    }
    for secret, file_variable in SECRET_VARIABLES.items():
        kept.pop(secret, None)  # install refuses while one is set: see withheld_secrets
        if kept.get(file_variable):  # the service starts elsewhere: make the path absolute
            kept[file_variable] = str(Path(kept[file_variable]).expanduser().absolute())
    kept["MLX_SERVE_HOME"] = str(home)  # the home it was installed with, explicitly
    kept["PYTHONUNBUFFERED"] = "1"  # log lines reach the log file at once
    return ServiceDefinition(
        program=(python, "-m", "mlx_serve", "start", "--foreground"),
        environment=kept,
        log_file=logs_dir / "mlx-serve-service.log",
        working_directory=home,
        stop_timeout_seconds=math.ceil(graceful_timeout_seconds) + STOP_MARGIN_SECONDS,
    )


def withheld_secrets(environment: Mapping[str, str]) -> list[str]:
    """The secret variables set in ``environment`` that a service definition leaves out."""
    return [name for name in SECRET_VARIABLES if environment.get(name)]


class ServiceControl:
    """The `mlx-serve service ...` use cases over a ServiceManager. Blocking.

    ``withheld``: secret variables set now but kept out of the unit (withheld_secrets);
    install refuses while there are any, rather than install a service without its keys.
    """

    def __init__(self, manager: ServiceManager, withheld: list[str] | None = None) -> None:
        self._manager = manager
        self._withheld = list(withheld or [])

    def install(self) -> Path:
        """Write and register the unit/plist; idempotent. Returns the file."""
        if self._withheld:
            secret = self._withheld[0]
            raise ServiceError(
                f"{secret} is set, but the service does not write keys into its unit file: put "
                f"the keys in a file (one per line, readable only by you) and set "
                f"{SECRET_VARIABLES[secret]} to its path instead"
            )
        return self._manager.install()

    def uninstall(self) -> bool:
        """Stop and remove the service; False when it was not installed."""
        try:
            installed = self._manager.status().installed
        except ServiceError:  # manager unreachable: remove the files all the same
            installed = True
        self._manager.uninstall()
        return installed

    def start(self) -> None:
        self._manager.start()

    def stop(self) -> None:
        self._manager.stop()

    def enable(self) -> None:
        self._manager.enable()

    def disable(self) -> None:
        self._manager.disable()

    def status(self) -> ServiceStatus:
        return self._manager.status()
