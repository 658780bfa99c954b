"""ProcessControl on POSIX: /proc on Linux, ``ps`` on macOS; sockets and urllib for ports."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from pathlib import Path

from mlx_serve.domain.ports import HealthProbe

_PROC = Path("/proc")


def connect_host(host: str) -> str:
    """Where to reach a server bound to ``host``: wildcard addresses mean loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host in ("::", "[::]"):
        return "::1"
    return host


class PosixProcessControl:
    """The ProcessControl port for Linux and macOS."""

    def __init__(self) -> None:
        # Children we spawned: polling them reaps them, so a server that dies during
        # ``start`` is seen as gone instead of lingering as our zombie.
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(self, argv: list[str], env: dict[str, str], log_file: Path) -> int:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "ab") as log:
            child = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # no SIGHUP/SIGINT from the terminal that started it
                close_fds=True,
            )
        self._children[child.pid] = child
        return child.pid

    def start_token(self, pid: int) -> str | None:
        child = self._children.get(pid)
        if child is not None and child.poll() is not None:
            return None
        if _PROC.is_dir():
            try:
                stat = (_PROC / str(pid) / "stat").read_text()
            except OSError:
                return None
            # The command name may hold spaces and parentheses: split after the last ')'.
            fields = stat[stat.rindex(")") + 2 :].split()
            state, start_ticks = fields[0], fields[19]
            return None if state in ("Z", "X") else start_ticks
        out = _ps(pid, "stat=,lstart=")
        if not out or out.startswith("Z"):
            return None
        return out.split(None, 1)[1] if " " in out else out

    def command_line(self, pid: int) -> str | None:
        if _PROC.is_dir():
            try:
                raw = (_PROC / str(pid) / "cmdline").read_bytes()
            except OSError:
                return None
            return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
        return _ps(pid, "command=")

    def signal(self, pid: int, *, kill: bool = False) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)

    def port_in_use(self, host: str, port: int) -> bool:
        # Connecting catches listeners on loopback that a wildcard bind would not collide with
        # on macOS; binding catches listeners on other addresses of this host.
        with (
            contextlib.suppress(OSError),
            socket.create_connection((connect_host(host), port), timeout=0.5),
        ):
            return True
        try:
            infos = socket.getaddrinfo(
                host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except OSError:
            return False
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # Servers set SO_REUSEADDR, so a port in TIME_WAIT is free for them too.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError:
                return True
        return False

    def probe_health(self, host: str, port: int, timeout: float) -> HealthProbe | None:
        address = connect_host(host)
        if ":" in address:
            address = f"[{address}]"
        url = f"http://{address}:{port}/health"
        # Imported here: urllib.request (http.client, ssl, email) is a third of what
        # `mlx-serve status` would import, and is needed only when something listens.
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                return HealthProbe(response.status, _json(response.read()))
        except urllib.error.HTTPError as error:
            return HealthProbe(error.code, _json(error.read()))
        except (OSError, ValueError):  # refused, reset, timed out, not HTTP
            return None


def _json(raw: bytes) -> dict:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _ps(pid: int, fields: str) -> str | None:
    try:
        out = subprocess.run(
            ["ps", "-o", fields, "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out or None
