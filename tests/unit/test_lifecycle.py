"""ServerLifecycle on a fake process table, an in-memory PID registry and a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_serve.application.lifecycle import LifecycleError, ServerLifecycle
from mlx_serve.domain.ports import HealthProbe, ServerRecord
from tests.fakes.clock import FakeClock
from tests.fakes.processes import FakeProcessControl, MemoryRegistry

OK = HealthProbe(200, {"status": "ok", "version": "0.1.0", "models_loaded": ["mini"]})
STARTING = HealthProbe(503, {"status": "starting", "version": "0.1.0", "models_loaded": []})
ARGV = ["python", "-m", "mlx_serve", "start", "--foreground", "--port", "8123"]


@pytest.fixture
def world(tmp_path):
    processes, registry, clock = FakeProcessControl(), MemoryRegistry(), FakeClock()
    lifecycle = ServerLifecycle(processes, registry, clock, tmp_path, sleep=clock.advance)
    return lifecycle, processes, registry, clock


def healthy_on(processes, port):
    processes.on_spawn = lambda process, argv: processes.health.__setitem__(port, OK)


def start(lifecycle, port=8123, timeout=30.0):
    return lifecycle.start(host="0.0.0.0", port=port, argv=ARGV, env={}, timeout=timeout)


def test_start_records_pid_and_token_and_waits_for_health(world):
    lifecycle, processes, registry, clock = world
    healthy_on(processes, 8123)
    instance = start(lifecycle)
    record = registry.get(8123)
    assert instance.pid == record.pid and record.process_start == f"t{record.pid}"
    assert instance.url == "http://127.0.0.1:8123" and instance.health == OK
    assert processes.spawned == [ARGV]
    assert record.log_file.name == "mlx-serve-8123.log"


def test_start_refuses_running_instance_busy_port_and_foreground_server(world):
    lifecycle, processes, registry, _ = world
    healthy_on(processes, 8123)
    start(lifecycle)
    with pytest.raises(LifecycleError, match="already running on port 8123"):
        start(lifecycle)
    processes.busy_ports.add(9000)
    with pytest.raises(LifecycleError, match="in use by another program"):
        start(lifecycle, port=9000)
    processes.health[9001] = OK  # mlx-serve without a PID file
    with pytest.raises(LifecycleError, match="already served by mlx-serve"):
        start(lifecycle, port=9001)
    assert len(processes.spawned) == 1


def test_start_reports_a_server_that_dies_with_the_log_tail(world, tmp_path):
    lifecycle, processes, registry, _ = world
    (tmp_path / "mlx-serve-8123.log").write_text("booting\nTraceback: boom\n")

    def die(process, argv):
        process.alive = False

    processes.on_spawn = die
    with pytest.raises(LifecycleError, match="exited during start-up") as error:
        start(lifecycle)
    assert error.value.log_tail[-1] == "Traceback: boom"
    assert registry.all() == []


def test_start_timeout_stops_a_silent_server_but_leaves_a_preloading_one(world):
    lifecycle, processes, registry, _ = world
    with pytest.raises(LifecycleError, match="did not become healthy"):
        start(lifecycle, timeout=5)
    [silent] = processes.processes.values()
    assert not silent.alive and registry.all() == []
    processes.on_spawn = lambda process, argv: processes.health.__setitem__(8124, STARTING)
    with pytest.raises(LifecycleError, match="still starting"):
        start(lifecycle, port=8124, timeout=5)
    assert registry.get(8124) is not None


def test_stale_pid_files_are_cleaned_and_never_signalled(world):
    lifecycle, processes, registry, clock = world
    unrelated = processes.add("sleep 60")
    # Same PID, but the start token differs (PID reused) ...
    registry.save(ServerRecord(unrelated.pid, "0.0.0.0", 8123, 0.0, "old-token", Path("x")))
    # ... same token, but not mlx-serve's command line ...
    registry.save(ServerRecord(unrelated.pid, "0.0.0.0", 8124, 0.0, unrelated.token, Path("x")))
    # ... and a dead PID.
    registry.save(ServerRecord(424242, "0.0.0.0", 8125, 0.0, "t", Path("x")))
    assert lifecycle.instances() == []
    assert registry.all() == []
    for port in (8123, 8124, 8125):
        registry.save(ServerRecord(unrelated.pid, "0.0.0.0", port, 0.0, "old-token", Path("x")))
    assert lifecycle.stop(all_=True, timeout=5) == []
    assert unrelated.alive and unrelated.signals == []


def test_status_shows_uptime_and_foreground_servers(world):
    lifecycle, processes, registry, clock = world
    healthy_on(processes, 8123)
    start(lifecycle)
    clock.advance(42)
    processes.health[8000] = OK  # a foreground server on the configured port
    found = lifecycle.instances(probe_ports=[8000])
    assert [(i.port, i.pid is not None) for i in found] == [(8000, False), (8123, True)]
    assert found[1].uptime_seconds == pytest.approx(42, abs=1)
    assert lifecycle.instances(port=8124) == []


def test_stop_sigterm_then_sigkill_after_the_bounded_wait(world):
    lifecycle, processes, registry, _ = world
    healthy_on(processes, 8123)
    instance = start(lifecycle)
    [outcome] = lifecycle.stop(port=8123, timeout=30)
    assert outcome.exited and not outcome.killed
    assert processes.processes[instance.pid].signals == ["TERM"]
    assert registry.all() == []

    healthy_on(processes, 8124)
    stubborn = start(lifecycle, port=8124)
    processes.processes[stubborn.pid].ignores_term = True
    [outcome] = lifecycle.stop(timeout=30)  # the only one running
    assert outcome.killed and outcome.exited
    assert processes.processes[stubborn.pid].signals == ["TERM", "KILL"]


def test_stop_force_kills_at_once_and_all_stops_every_instance(world):
    lifecycle, processes, registry, _ = world
    for port in (8123, 8124):
        healthy_on(processes, port)
        start(lifecycle, port=port)
    with pytest.raises(LifecycleError, match="several servers"):
        lifecycle.stop(timeout=30)
    outcomes = lifecycle.stop(all_=True, force=True, timeout=30)
    assert [(o.port, o.killed, o.exited) for o in outcomes] == [
        (8123, True, True),
        (8124, True, True),
    ]
    assert all(p.signals == ["KILL"] for p in processes.processes.values())
    assert registry.all() == []
