"""Background servers: ``mlx-serve start`` (detached), ``status`` and ``stop``, per port.

A PID file per port records the PID *and* the OS's start-time token of that process. Before
anything is signalled the token and the command line are checked again: a PID file whose
process died, or whose PID now belongs to another program, is stale; it is removed and that
process is never touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlx_serve.domain.errors import MlxServeError
from mlx_serve.domain.ports import Clock, HealthProbe, ProcessControl, ServerRecord, ServerRegistry

_MARKERS = ("mlx_serve", "mlx-serve")


class LifecycleError(MlxServeError):
    """Starting or stopping failed; ``log_tail`` holds the server log's last lines if useful."""

    def __init__(self, message: str, *, log_tail: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.log_tail = list(log_tail)


@dataclass(frozen=True)
class Instance:
    """A server found on a port: with a PID file (started in the background) or without one
    (foreground or system service), with what its /health said."""

    host: str
    port: int
    record: ServerRecord | None
    health: HealthProbe | None
    uptime_seconds: float | None

    @property
    def pid(self) -> int | None:
        return self.record.pid if self.record else None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class StopOutcome:
    port: int
    pid: int
    killed: bool  # SIGKILL was needed (--force, or the drain outlasted the wait)
    exited: bool  # the process is gone


def looks_like_mlx_serve(probe: HealthProbe | None) -> bool:
    return probe is not None and {"status", "models_loaded"} <= probe.body.keys()


class ServerLifecycle:
    def __init__(
        self,
        processes: ProcessControl,
        registry: ServerRegistry,
        clock: Clock,
        logs_dir: Path,
        *,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = 0.2,
        exit_poll_seconds: float = 0.02,
    ) -> None:
        self._processes = processes
        self._registry = registry
        self._clock = clock
        self._logs_dir = logs_dir
        self._sleep = sleep
        self._poll = poll_seconds
        # Waiting for an exit reads /proc (cheap), so look often: `stop` returns as soon as
        # the server is gone rather than up to a whole start-up poll later.
        self._exit_poll = exit_poll_seconds

    # -- identity -----------------------------------------------------------------------

    def _is_ours(self, record: ServerRecord) -> bool:
        """Whether the record's PID is still the very process we started."""
        token = self._processes.start_token(record.pid)
        if token is None or token != record.process_start:
            return False
        command = self._processes.command_line(record.pid) or ""
        return any(marker in command for marker in _MARKERS)

    def _live_record(self, port: int) -> ServerRecord | None:
        record = self._registry.get(port)
        if record is not None and not self._is_ours(record):
            self._registry.remove(port)  # stale: dead, or the PID was reused
            return None
        return record

    def _live_records(self) -> list[ServerRecord]:
        return [r for r in self._registry.all() if self._live_record(r.port) is not None]

    # -- start --------------------------------------------------------------------------

    def log_file(self, port: int) -> Path:
        return self._logs_dir / f"mlx-serve-{port}.log"

    def start(
        self, *, host: str, port: int, argv: list[str], env: dict[str, str], timeout: float
    ) -> Instance:
        """Spawn ``argv`` (a foreground server) detached and wait until /health says ok.

        Raises LifecycleError when the port is served or taken, when the server exits during
        start-up, or when it is not healthy within ``timeout`` seconds (then it is stopped,
        unless it answers ``starting``: a long preload is left to finish).
        """
        running = self._live_record(port)
        if running is not None:
            raise LifecycleError(
                f"mlx-serve is already running on port {port} (PID {running.pid}); "
                f"stop it with `mlx-serve stop --port {port}`"
            )
        if self._processes.port_in_use(host, port):
            if looks_like_mlx_serve(self._processes.probe_health(host, port, 2.0)):
                raise LifecycleError(
                    f"port {port} is already served by mlx-serve (started in the foreground "
                    "or as a service, so it has no PID file here)"
                )
            raise LifecycleError(
                f"port {port} is already in use by another program; choose another with --port"
            )
        log_file = self.log_file(port)
        pid = self._processes.spawn(argv, env, log_file)
        record = ServerRecord(
            pid, host, port, self._clock.wall(), self._processes.start_token(pid) or "", log_file
        )
        self._registry.save(record)
        deadline = self._clock.now() + timeout
        probe: HealthProbe | None = None
        while self._clock.now() < deadline:
            if self._processes.start_token(pid) != record.process_start:
                self._registry.remove(port)
                raise LifecycleError(
                    f"the server exited during start-up (log: {log_file})", log_tail=_tail(log_file)
                )
            probe = self._processes.probe_health(host, port, 1.0)
            if probe is not None and probe.status_code == 200:
                return Instance(host, port, record, probe, self._clock.wall() - record.started_at)
            self._sleep(self._poll)
        if looks_like_mlx_serve(probe) and probe is not None and probe.body["status"] == "starting":
            raise LifecycleError(
                f"the server (PID {pid}) is still starting after {timeout:g} s (preloading "
                f"models?); it keeps running: see `mlx-serve status --port {port}` and {log_file}"
            )
        self._terminate([record], force=False, timeout=5.0)
        raise LifecycleError(
            f"the server did not become healthy within {timeout:g} s and was stopped "
            f"(log: {log_file})",
            log_tail=_tail(log_file),
        )

    # -- status -------------------------------------------------------------------------

    def instances(
        self, port: int | None = None, *, probe_ports: Sequence[int] = ()
    ) -> list[Instance]:
        """Servers running: every live PID file (or only ``port``'s), plus anything answering
        like mlx-serve on ``port``/``probe_ports`` without a PID file. Cleans stale PID files."""
        records = self._live_records() if port is None else []
        if port is not None and (record := self._live_record(port)) is not None:
            records = [record]
        found = [
            Instance(
                r.host,
                r.port,
                r,
                self._processes.probe_health(r.host, r.port, 2.0),
                self._clock.wall() - r.started_at,
            )
            for r in records
        ]
        known = {r.port for r in records}
        for extra in dict.fromkeys([*([port] if port is not None else []), *probe_ports]):
            if extra in known:
                continue
            probe = self._processes.probe_health("127.0.0.1", extra, 2.0)
            if looks_like_mlx_serve(probe):
                found.append(Instance("127.0.0.1", extra, None, probe, None))
        return sorted(found, key=lambda i: i.port)

    # -- stop ---------------------------------------------------------------------------

    def stop(
        self, *, port: int | None = None, all_: bool = False, force: bool = False, timeout: float
    ) -> list[StopOutcome]:
        """SIGTERM the chosen servers and wait up to ``timeout`` s for their drain, then
        SIGKILL what is left; ``force`` sends SIGKILL at once. Without ``port`` or ``all_``,
        stops the only running server (LifecycleError if there are several)."""
        if port is not None and not all_:
            record = self._live_record(port)
            targets = [record] if record is not None else []
        else:
            targets = self._live_records()
            if not all_ and len(targets) > 1:
                ports = ", ".join(str(r.port) for r in targets)
                raise LifecycleError(
                    f"several servers are running (ports {ports}): pass --port or --all"
                )
        return self._terminate(targets, force=force, timeout=timeout)

    def _terminate(
        self, targets: list[ServerRecord], *, force: bool, timeout: float
    ) -> list[StopOutcome]:
        for record in targets:
            self._processes.signal(record.pid, kill=force)
        gone = self._wait_gone(targets, timeout)
        killed = {r.pid for r in targets} if force else set()
        late = [r for r in targets if r.pid not in gone]
        if late:  # the drain outlasted the bound: kill what is left
            for record in late:
                self._processes.signal(record.pid, kill=True)
                killed.add(record.pid)
            gone |= self._wait_gone(late, 10.0)
        outcomes = []
        for record in targets:
            if record.pid in gone:
                self._registry.remove(record.port)
            outcomes.append(
                StopOutcome(record.port, record.pid, record.pid in killed, record.pid in gone)
            )
        return outcomes

    def _wait_gone(self, targets: list[ServerRecord], timeout: float) -> set[int]:
        deadline = self._clock.now() + timeout
        while True:
            gone = {r.pid for r in targets if self._processes.start_token(r.pid) != r.process_start}
            if len(gone) == len(targets) or self._clock.now() >= deadline:
                return gone
            self._sleep(self._exit_poll)


def _tail(log_file: Path, lines: int = 20) -> list[str]:
    try:
        return log_file.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []
