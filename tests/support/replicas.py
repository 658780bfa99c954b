"""Replicas for scale-out tests: servers that share one models directory.

Each replica gets its own home (logs, PID files) and all of them read the same models
directory through ``MLX_SERVE_MODELS_DIR``, as replicas on several hosts would read a shared
volume.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.server import ServerProcess, free_port, install_minilm, isolated_env, spawn

MINILM = "all-MiniLM-L6-v2"


def shared_models_dir(root: Path) -> Path:
    """A models directory under ``root`` with all-MiniLM-L6-v2 installed, via the CLI."""
    models = root / "shared-models"
    env = isolated_env(root / "installer", {"MLX_SERVE_MODELS_DIR": str(models)})
    install_minilm(env, MINILM)
    return models


def replica_env(root: Path, models: Path, **settings: str) -> dict[str, str]:
    """The environment of one replica reading ``models``; ``settings`` are MLX_SERVE_* values."""
    extra = {"MLX_SERVE_MODELS_DIR": str(models), "MLX_SERVE_LOG_LEVEL": "INFO"}
    extra.update({f"MLX_SERVE_{key.upper()}": value for key, value in settings.items()})
    return isolated_env(root, extra)


def start_replica(
    root: Path,
    models: Path,
    *,
    port: int | None = None,
    preload: str | None = MINILM,
    **settings: str,
) -> ServerProcess:
    """A real server over the shared ``models`` (on ``port``, or a free one), ready when
    returned: ``/health`` answers 200 once the preload is in memory."""
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = [
        sys.executable, "-m", "mlx_serve", "start", "--foreground",
        "--host", "127.0.0.1", "--port", str(port),
        *(["--preload", preload] if preload else []),
    ]  # fmt: skip
    server = spawn(command, replica_env(root, models, **settings), port, root / "server.log")
    server.wait_healthy()
    return server


def tree_snapshot(path: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``path`` (itself included): (inode, size, mtime in ns)."""
    entries = {}
    for directory, dirs, files in os.walk(path):
        for name in [".", *dirs, *files]:
            full = Path(directory) / name
            stat = full.lstat()
            entries[str(full.relative_to(path))] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return entries
