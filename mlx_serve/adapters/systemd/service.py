"""SystemdUserService: ``~/.config/systemd/user/mlx-serve.service`` and ``systemctl --user``."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

from mlx_serve.adapters.systemd.unit import UNIT_NAME, render_unit
from mlx_serve.domain.errors import ServiceError
from mlx_serve.domain.ports import ServiceDefinition, ServiceStatus

_TIMEOUT_SECONDS = 120  # `stop` waits for the server's drain
_NO_USER_MANAGER = (
    "systemctl --user is unavailable: no systemd user manager is running for this login "
    "({detail}), so nothing was changed. Log in through a systemd session (ssh or a desktop "
    "login, not `su` or a container shell), or have root run `loginctl enable-linger $USER`, "
    "then try again; meanwhile `mlx-serve start` runs the server in the background"
)


class SystemdUserService:
    """The ServiceManager port on Linux. Blocking; every call runs ``systemctl --user``."""

    def __init__(self, definition: ServiceDefinition, unit_dir: Path) -> None:
        self._definition = definition
        self._unit_path = unit_dir / UNIT_NAME

    @property
    def unit_path(self) -> Path:
        return self._unit_path

    def _systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["systemctl", "--user", *args]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False
            )
        except FileNotFoundError:
            raise ServiceError(
                "systemctl is not installed: the system service needs systemd "
                "(run the server with `mlx-serve start` instead)"
            ) from None
        except subprocess.TimeoutExpired:
            raise ServiceError(
                f"`{' '.join(command)}` did not finish in {_TIMEOUT_SECONDS} s"
            ) from None
        output = (result.stderr or result.stdout).strip()
        if result.returncode != 0 and "Failed to connect to" in output:
            raise ServiceError(_NO_USER_MANAGER.format(detail=output))
        if check and result.returncode != 0:
            raise ServiceError(f"`{' '.join(command)}` failed: {output or result.returncode}")
        return result

    def _require_manager(self) -> None:
        """Fail before touching any file when no user manager answers: `systemctl --user
        enable` would otherwise succeed offline (a symlink nothing ever reads)."""
        self._systemctl("show-environment")

    def install(self) -> Path:
        self._require_manager()
        self._definition.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._unit_path.parent.mkdir(parents=True, exist_ok=True)
        text = render_unit(self._definition)
        if not self._unit_path.is_file() or self._unit_path.read_text() != text:
            temporary = self._unit_path.with_suffix(".tmp")
            temporary.write_text(text)
            temporary.replace(self._unit_path)
        self._systemctl("daemon-reload")
        return self._unit_path

    def uninstall(self) -> None:
        if not self._unit_path.is_file():
            return
        # Stopping and disabling fail harmlessly when it is neither running nor enabled; without
        # a user manager nothing can run it, and the file must go all the same.
        with contextlib.suppress(ServiceError):
            self._systemctl("disable", "--now", UNIT_NAME, check=False)
        self._unit_path.unlink()
        with contextlib.suppress(ServiceError):
            self._systemctl("daemon-reload", check=False)
            self._systemctl("reset-failed", UNIT_NAME, check=False)

    def _require_installed(self) -> None:
        if not self._unit_path.is_file():
            raise ServiceError("the service is not installed: run `mlx-serve service install`")

    def start(self) -> None:
        self._require_installed()
        self._require_manager()
        self._systemctl("start", UNIT_NAME)

    def stop(self) -> None:
        self._require_installed()
        self._require_manager()
        self._systemctl("stop", UNIT_NAME)

    def enable(self) -> None:
        self._require_installed()
        self._require_manager()
        self._systemctl("enable", UNIT_NAME)

    def disable(self) -> None:
        self._require_installed()
        self._require_manager()
        self._systemctl("disable", UNIT_NAME)

    def status(self) -> ServiceStatus:
        if not self._unit_path.is_file():
            return ServiceStatus(installed=False, enabled=False, running=False)
        # is-enabled / is-active exit non-zero for "disabled" / "inactive": read the words.
        enabled = self._systemctl("is-enabled", UNIT_NAME, check=False).stdout.strip()
        active = self._systemctl("is-active", UNIT_NAME, check=False).stdout.strip()
        return ServiceStatus(
            installed=True,
            enabled=enabled == "enabled",
            running=active == "active",
            detail=f"{active or 'unknown'}, {enabled or 'unknown'} ({self._unit_path})",
        )
