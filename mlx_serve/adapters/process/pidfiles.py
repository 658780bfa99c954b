"""ServerRegistry as JSON PID files: ``<run_dir>/mlx-serve-<port>.pid``."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from mlx_serve.domain.ports import ServerRecord


class PidFileRegistry:
    def __init__(self, run_dir: Path) -> None:
        self._dir = run_dir

    def _path(self, port: int) -> Path:
        return self._dir / f"mlx-serve-{port}.pid"

    def save(self, record: ServerRecord) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        data = {
            "pid": record.pid,
            "host": record.host,
            "port": record.port,
            "started_at": record.started_at,
            "process_start": record.process_start,
            "log_file": str(record.log_file),
        }
        path = self._path(record.port)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(temporary, path)  # readers never see half a file

    def get(self, port: int) -> ServerRecord | None:
        return _read(self._path(port))

    def all(self) -> list[ServerRecord]:
        if not self._dir.is_dir():
            return []
        records = (_read(path) for path in self._dir.glob("mlx-serve-*.pid"))
        return sorted((r for r in records if r is not None), key=lambda r: r.port)

    def remove(self, port: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(port).unlink()


def _read(path: Path) -> ServerRecord | None:
    try:
        data = json.loads(path.read_text())
        if isinstance(data, int):
            # A bare PID (an older or hand-written file): no start token, so it can never
            # pass the identity check and is cleaned as stale instead of trusted.
            port = int(path.stem.rsplit("-", 1)[1])
            return ServerRecord(data, "127.0.0.1", port, 0.0, "", path.with_suffix(".log"))
        return ServerRecord(
            pid=int(data["pid"]),
            host=str(data["host"]),
            port=int(data["port"]),
            started_at=float(data["started_at"]),
            process_start=str(data["process_start"]),
            log_file=Path(data["log_file"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
