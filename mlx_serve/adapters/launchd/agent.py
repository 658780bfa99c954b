"""LaunchdAgentService: ``~/Library/LaunchAgents/com.mlx-serve.server.plist`` + ``launchctl``.

Mapping: install writes the plist (loading happens on ``start``, so installing never starts
a server); start = bootstrap (if not loaded) + kickstart; stop = bootout (SIGTERM, then
SIGKILL after ExitTimeOut); enable/disable = the per-user override that decides whether the
agent loads at login.
"""

from __future__ import annotations

import os
import plistlib
import re
import subprocess
from pathlib import Path

from mlx_serve.domain.errors import ServiceError
from mlx_serve.domain.ports import ServiceDefinition, ServiceStatus

LABEL = "com.mlx-serve.server"
_TIMEOUT_SECONDS = 120


def render_plist(definition: ServiceDefinition) -> bytes:
    """The agent's plist (XML). KeepAlive restarts it only after a failure (non-zero exit)."""
    return plistlib.dumps(
        {
            "Label": LABEL,
            "ProgramArguments": list(definition.program),
            "EnvironmentVariables": dict(definition.environment),
            "WorkingDirectory": str(definition.working_directory),
            "StandardOutPath": str(definition.log_file),
            "StandardErrorPath": str(definition.log_file),
            "RunAtLoad": True,
            "KeepAlive": {"SuccessfulExit": False},
            "ExitTimeOut": definition.stop_timeout_seconds,
            "ProcessType": "Interactive",
        }
    )


class LaunchdAgentService:
    """The ServiceManager port on macOS. Blocking; each call runs ``launchctl``."""

    def __init__(
        self, definition: ServiceDefinition, agents_dir: Path, uid: int | None = None
    ) -> None:
        self._definition = definition
        self._plist = agents_dir / f"{LABEL}.plist"
        uid = os.getuid() if uid is None else uid
        self._domain = f"gui/{uid}"
        self._target = f"{self._domain}/{LABEL}"

    @property
    def plist_path(self) -> Path:
        return self._plist

    def _launchctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["launchctl", *args]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False
            )
        except FileNotFoundError:
            raise ServiceError(
                "launchctl is not available: the system service needs macOS launchd "
                "(run the server with `mlx-serve start` instead)"
            ) from None
        except subprocess.TimeoutExpired:
            raise ServiceError(
                f"`{' '.join(command)}` did not finish in {_TIMEOUT_SECONDS} s"
            ) from None
        if check and result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            raise ServiceError(f"`{' '.join(command)}` failed: {output or result.returncode}")
        return result

    def _loaded(self) -> bool:
        return self._launchctl("print", self._target, check=False).returncode == 0

    def install(self) -> Path:
        self._definition.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._plist.parent.mkdir(parents=True, exist_ok=True)
        data = render_plist(self._definition)
        changed = not self._plist.is_file() or self._plist.read_bytes() != data
        if changed:
            temporary = self._plist.with_suffix(".tmp")
            temporary.write_bytes(data)
            temporary.replace(self._plist)
            if self._loaded():  # reload so launchd runs the new definition
                self._launchctl("bootout", self._target)
                self._launchctl("bootstrap", self._domain, str(self._plist))
        return self._plist

    def uninstall(self) -> None:
        if self._loaded():
            self._launchctl("bootout", self._target)
        self._plist.unlink(missing_ok=True)

    def _require_installed(self) -> None:
        if not self._plist.is_file():
            raise ServiceError("the service is not installed: run `mlx-serve service install`")

    def start(self) -> None:
        self._require_installed()
        if not self._loaded():
            self._launchctl("bootstrap", self._domain, str(self._plist))
        self._launchctl("kickstart", self._target)

    def stop(self) -> None:
        self._require_installed()
        if self._loaded():
            self._launchctl("bootout", self._target)

    def enable(self) -> None:
        self._require_installed()
        self._launchctl("enable", self._target)

    def disable(self) -> None:
        self._require_installed()
        self._launchctl("disable", self._target)

    def status(self) -> ServiceStatus:
        if not self._plist.is_file():
            return ServiceStatus(installed=False, enabled=False, running=False)
        printed = self._launchctl("print", self._target, check=False)
        running = printed.returncode == 0 and bool(
            re.search(r"^\s*state = running", printed.stdout, re.MULTILINE)
        )
        overrides = self._launchctl("print-disabled", self._domain, check=False).stdout
        # Lines read `"label" => disabled` (or `=> true` on older macOS) when disabled.
        match = re.search(rf'"{re.escape(LABEL)}" => (\w+)', overrides)
        enabled = match is None or match.group(1) in ("enabled", "false")
        state = "running" if running else ("loaded" if printed.returncode == 0 else "not loaded")
        return ServiceStatus(
            installed=True,
            enabled=enabled,
            running=running,
            detail=f"{state}, {'enabled' if enabled else 'disabled'} ({self._plist})",
        )
