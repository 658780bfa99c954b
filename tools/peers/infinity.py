"""infinity-emb as a peer HTTP server, started from its own venv (tools/peers/infinity_venv.sh).

infinity-emb 0.0.78 on torch CPU is the peer issue 11 names for the HTTP embedding and rerank
targets. Its dependency pins clash with mlx-serve's, so it runs as a separate process from a
separate virtual environment; the benchmarks talk to it over HTTP with the same client code
they use for mlx-serve. Offline and without telemetry.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tools.health_wait import wait_healthy

DEFAULT_VENV = Path.home() / ".cache" / "mlx-serve-bench" / "infinity"
SERVED_NAME = "bench"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command(venv: Path, model_dir: Path, port: int, batch_size: int = 32) -> list[str]:
    """The `infinity_emb v2` command line: torch engine on the CPU, the model served as
    ``SERVED_NAME``, loopback only. ``--no-bettertransformer``: optimum is not installed (the
    torch extra does not pull it) and torch's own SDPA already runs the attention."""
    return [
        str(venv / "bin" / "infinity_emb"), "v2",
        "--model-id", str(model_dir),
        "--served-model-name", SERVED_NAME,
        "--engine", "torch",
        "--device", "cpu",
        "--batch-size", str(batch_size),
        "--no-bettertransformer",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--log-level", "warning",  # as mlx-serve in the benchmarks: no per-request access log
    ]


class InfinityServer:
    """A running infinity-emb server; a context manager that stops it (SIGTERM, then SIGKILL)."""

    def __init__(self, venv: Path, model_dir: Path, batch_size: int = 32,
                 timeout: float = 600) -> None:
        if not (venv / "bin" / "infinity_emb").exists():
            raise FileNotFoundError(
                f"no infinity_emb in {venv}: run `bash tools/peers/infinity_venv.sh {venv}`")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.name = SERVED_NAME
        self.log = Path(tempfile.mkstemp(prefix="infinity-", suffix=".log")[1])
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "INFINITY_ANONYMOUS_USAGE_STATS": "0", "DO_NOT_TRACK": "1",
               "INFINITY_QUEUE_SIZE": "32000"}
        env.pop("VIRTUAL_ENV", None)
        began = time.monotonic()
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(command(venv, model_dir, port, batch_size), env=env,
                                            stdout=sink, stderr=subprocess.STDOUT)
        if not wait_healthy(self.url, self.process, timeout):
            self.stop()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"infinity-emb did not become healthy:\n{tail}")
        self.ready_s = time.monotonic() - began

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> InfinityServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def version(venv: Path) -> str:
    """``infinity-emb x / torch y`` as installed in ``venv`` (for the report)."""
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import importlib.metadata as m; "
         "print(f\"infinity-emb {m.version('infinity-emb')}, torch {m.version('torch')}\")"],
        capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"
