"""Fake ProcessControl and ServerRegistry: processes are rows in a table the test edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlx_serve.domain.ports import HealthProbe, ServerRecord


@dataclass
class FakeProcess:
    pid: int
    command: str
    token: str
    alive: bool = True
    signals: list[str] = field(default_factory=list)
    ignores_term: bool = False  # a server whose drain outlasts any wait


class FakeProcessControl:
    def __init__(self) -> None:
        self.processes: dict[int, FakeProcess] = {}
        self.busy_ports: set[int] = set()
        self.health: dict[int, HealthProbe] = {}
        self.spawned: list[list[str]] = []
        self.on_spawn = None  # callable(pid, argv) -> None, e.g. to make it healthy
        self._next_pid = 1000

    def add(self, command: str, *, pid: int | None = None) -> FakeProcess:
        pid = pid or self._next_pid
        self._next_pid = max(self._next_pid, pid) + 1
        process = FakeProcess(pid, command, token=f"t{pid}")
        self.processes[pid] = process
        return process

    def spawn(self, argv: list[str], env: dict[str, str], log_file: Path) -> int:
        self.spawned.append(argv)
        process = self.add(" ".join(argv))
        if self.on_spawn:
            self.on_spawn(process, argv)
        return process.pid

    def start_token(self, pid: int) -> str | None:
        process = self.processes.get(pid)
        return process.token if process and process.alive else None

    def command_line(self, pid: int) -> str | None:
        process = self.processes.get(pid)
        return process.command if process and process.alive else None

    def signal(self, pid: int, *, kill: bool = False) -> None:
        process = self.processes.get(pid)
        if process is None or not process.alive:
            return
        process.signals.append("KILL" if kill else "TERM")
        if kill or not process.ignores_term:
            process.alive = False

    def port_in_use(self, host: str, port: int) -> bool:
        return port in self.busy_ports or port in self.health

    def probe_health(self, host: str, port: int, timeout: float) -> HealthProbe | None:
        return self.health.get(port)


class MemoryRegistry:
    def __init__(self) -> None:
        self.records: dict[int, ServerRecord] = {}

    def save(self, record: ServerRecord) -> None:
        self.records[record.port] = record

    def get(self, port: int) -> ServerRecord | None:
        return self.records.get(port)

    def all(self) -> list[ServerRecord]:
        return [self.records[p] for p in sorted(self.records)]

    def remove(self, port: int) -> None:
        self.records.pop(port, None)
