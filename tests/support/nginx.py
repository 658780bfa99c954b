"""Run the shipped nginx configuration (deploy/nginx/mlx-serve.conf) on loopback for tests.

The configuration is rendered into a temporary directory with only the replicas' addresses
and the listen port changed, wrapped in a minimal main configuration (PID file, logs and
temporary files in that directory), and run as a foreground process (``daemon off``) that the
test stops by its PID. The access log records which replicas each request went to.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.server import REPO_ROOT, free_port

SHIPPED_CONFIG = REPO_ROOT / "deploy" / "nginx" / "mlx-serve.conf"
_UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)127\.0\.0\.1:\d+(\s.*)$", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*listen\s+)8000;$", re.MULTILINE)
# Per request: status, the replicas tried (comma-separated when nginx retried), their statuses.
LOG_FORMAT = '$status "$upstream_addr" "$upstream_status" $request_method $uri'


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )


def render(upstream_ports: list[int], listen_port: int, directory: Path) -> Path:
    """Write the shipped config for these ports plus a main config; returns the main file."""
    shipped = SHIPPED_CONFIG.read_text(encoding="utf-8")
    servers = len(_UPSTREAM_SERVER.findall(shipped))
    if servers != len(upstream_ports):
        raise ValueError(f"{SHIPPED_CONFIG} has {servers} replicas, not {len(upstream_ports)}")
    ports = iter(upstream_ports)
    config = _UPSTREAM_SERVER.sub(
        lambda match: f"{match.group(1)}127.0.0.1:{next(ports)}{match.group(2)}", shipped
    )
    config, listens = _LISTEN.subn(rf"\g<1>127.0.0.1:{listen_port};", config)
    if listens != 1:
        raise ValueError(f"{SHIPPED_CONFIG} has no 'listen 8000;' line to render")
    conf = directory / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "mlx-serve.conf").write_text(config, encoding="utf-8")
    temp = directory / "temp"
    temp.mkdir(exist_ok=True)
    # Run as root, nginx would switch its workers to "nobody", who cannot enter this
    # directory; the workers keep our user instead.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = conf / "nginx.conf"
    main.write_text(
        f"""{user}worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
events {{ worker_connections 256; }}
http {{
    log_format replicas '{LOG_FORMAT}';
    access_log {directory}/access.log replicas;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include mlx-serve.conf;
}}
""",
        encoding="utf-8",
    )
    return main


@dataclass
class Nginx:
    process: subprocess.Popen
    port: int
    directory: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def access_log(self) -> list[str]:
        path = self.directory / "access.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self, timeout: float = 30.0) -> int:
        """SIGQUIT (graceful), then SIGKILL after ``timeout``; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)


def start_nginx(upstream_ports: list[int], directory: Path, *, timeout: float = 30.0) -> Nginx:
    """nginx in the foreground over the replicas on ``upstream_ports``, answering when returned."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (tools/test.sh installs Debian's package)")
    port = free_port()
    main = render(upstream_ports, port, directory)
    with open(directory / "stderr.log", "ab") as stderr:
        process = subprocess.Popen(
            [binary, "-p", str(directory), "-c", str(main), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    nginx = Nginx(process=process, port=port, directory=directory)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}:\n{nginx.error_log()}")
        try:
            httpx.get(f"{nginx.base_url}/health/live", timeout=2.0)
            return nginx
        except httpx.HTTPError:
            time.sleep(0.1)
    nginx.stop()
    raise TimeoutError(f"nginx did not answer within {timeout}s:\n{nginx.error_log()}")
