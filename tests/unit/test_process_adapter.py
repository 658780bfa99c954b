"""The real ProcessControl and PID-file registry against real processes and sockets."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

from mlx_serve.adapters.process.pidfiles import PidFileRegistry
from mlx_serve.adapters.process.processes import PosixProcessControl
from mlx_serve.domain.ports import ServerRecord


def test_spawn_token_command_line_signal_and_reaping(tmp_path):
    control = PosixProcessControl()
    log = tmp_path / "logs" / "x.log"
    pid = control.spawn(
        [sys.executable, "-c", "print('hi', flush=True); import time; time.sleep(30)"], {}, log
    )
    token = control.start_token(pid)
    assert token and control.start_token(pid) == token
    for _ in range(600):  # up to 30 s on a loaded machine
        if log.read_text().startswith("hi"):
            break
        time.sleep(0.05)
    assert "time.sleep(30)" in control.command_line(pid)
    control.signal(pid)
    for _ in range(600):
        if control.start_token(pid) is None:
            break
        time.sleep(0.05)
    assert control.start_token(pid) is None  # exited (and reaped, no zombie)
    control.signal(pid, kill=True)  # gone already: not an error


def test_port_in_use_and_health_probe_of_nothing(tmp_path):
    control = PosixProcessControl()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert control.port_in_use("0.0.0.0", port)
        assert control.port_in_use("127.0.0.1", port)
        # Something that is not HTTP: the probe says nothing answered.
        assert control.probe_health("127.0.0.1", port, 0.3) is None
    assert not control.port_in_use("127.0.0.1", port)
    assert control.probe_health("127.0.0.1", port, 0.3) is None


def test_pid_file_registry_round_trip_and_bare_pid(tmp_path):
    registry = PidFileRegistry(tmp_path / "run")
    assert registry.all() == [] and registry.get(1) is None
    record = ServerRecord(123, "0.0.0.0", 8123, 1.5, "tok", Path("/l/x.log"))
    registry.save(record)
    assert registry.get(8123) == record and registry.all() == [record]
    (tmp_path / "run" / "mlx-serve-8124.pid").write_text("456\n")
    bare = registry.get(8124)
    assert bare.pid == 456 and bare.process_start == ""
    (tmp_path / "run" / "mlx-serve-8125.pid").write_text("{garbage")
    assert [r.port for r in registry.all()] == [8123, 8124]
    registry.remove(8123)
    registry.remove(8123)
    assert registry.get(8123) is None
