"""`mlx-serve start` (background) / `status` / `stop` as a person runs them: real CLI
subprocesses, real servers on free ports, the real all-MiniLM-L6-v2.

Each test has its own MLX_SERVE_HOME, HOME and HF_HOME; the installed model is shared
through MLX_SERVE_MODELS_DIR so it is converted once per module.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port, install_minilm, isolated_env, run_cli

pytestmark = pytest.mark.slow

MODEL = "minilm"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lifecycle-models")
    env = isolated_env(root, {"MLX_SERVE_MODELS_DIR": str(root / "models")})
    install_minilm(env, MODEL)
    return root / "models"


@pytest.fixture
def env(tmp_path, models_dir):
    environment = isolated_env(
        tmp_path, {"MLX_SERVE_MODELS_DIR": str(models_dir), "MLX_SERVE_LOG_LEVEL": "INFO"}
    )
    yield environment
    # Never leave a server behind, whatever the test did.
    run_cli(["stop", "--all", "--force"], environment, timeout=60)


def pid_file(env: dict[str, str], port: int) -> Path:
    return Path(env["MLX_SERVE_HOME"]) / "run" / f"mlx-serve-{port}.pid"


def alive(pid: int) -> bool:
    """Running and not a zombie (a zombie has exited; only its parent has not reaped it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def start(env, port, *extra, check=True):
    result = run_cli(
        ["start", "--host", "127.0.0.1", "--port", str(port), *extra], env, timeout=300
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def embed(port: int, inputs, timeout: float = 600) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/v1/embeddings",
        json={"model": MODEL, "input": inputs},
        timeout=timeout,
    )


def test_start_status_requests_stop(env):
    port = free_port()
    result = start(env, port, "--preload", MODEL)
    pid = json.loads(pid_file(env, port).read_text())["pid"]
    assert f"http://127.0.0.1:{port}" in result.stdout and f"PID {pid}" in result.stdout
    assert "mlx-serve-" in result.stdout and ".log" in result.stdout

    status = run_cli(["status"], env)
    assert status.returncode == 0, status.stderr
    for needle in (f"PID:     {pid}", f"http://127.0.0.1:{port}", "version:", MODEL, "uptime:"):
        assert needle in status.stdout

    response = embed(port, ["hello world", "goodbye"])
    assert response.status_code == 200 and len(response.json()["data"]) == 2

    again = start(env, port, check=False)  # the port is ours already
    assert again.returncode != 0 and "already running" in again.stderr

    stop = run_cli(["stop", "--port", str(port)], env)
    assert stop.returncode == 0 and f"stopped mlx-serve on port {port}" in stop.stdout
    assert not alive(pid) and not pid_file(env, port).exists()
    gone = run_cli(["status", "--port", str(port)], env)
    assert gone.returncode == 3 and "not running" in gone.stdout


def test_stop_waits_for_a_long_request_to_finish(env):
    env["MLX_SERVE_GRACEFUL_TIMEOUT_SECONDS"] = "300"
    port = free_port()
    start(env, port, "--preload", MODEL)
    text = " ".join(f"word{i}" for i in range(300))
    inputs = [f"{text} {i}" for i in range(96)]  # seconds of work on a CPU, on either engine
    outcome: dict = {}
    request = threading.Thread(target=lambda: outcome.update(response=embed(port, inputs)))
    request.start()
    time.sleep(1.0)
    assert request.is_alive(), "the request finished before stop: make it longer"
    stop = run_cli(["stop", "--port", str(port)], env, timeout=400)
    request.join(timeout=400)
    assert stop.returncode == 0 and "stopped" in stop.stdout, stop.stdout + stop.stderr
    response = outcome["response"]
    assert response.status_code == 200 and len(response.json()["data"]) == len(inputs)


def test_stop_all_stops_every_instance(env):
    ports = sorted(free_port() for _ in range(2))
    threads = [threading.Thread(target=start, args=(env, port)) for port in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pids = [json.loads(pid_file(env, port).read_text())["pid"] for port in ports]
    status = run_cli(["status"], env)
    assert status.returncode == 0 and all(f"port {port}" in status.stdout for port in ports)
    ambiguous = run_cli(["stop"], env)
    assert ambiguous.returncode == 1 and "--all" in ambiguous.stderr
    stop = run_cli(["stop", "--all"], env)
    assert stop.returncode == 0, stop.stderr
    assert all(f"stopped mlx-serve on port {port}" in stop.stdout for port in ports)
    assert not any(alive(pid) for pid in pids)
    assert run_cli(["status"], env).returncode == 3


def test_stop_force_kills_at_once(env):
    port = free_port()
    start(env, port)
    pid = json.loads(pid_file(env, port).read_text())["pid"]
    stop = run_cli(["stop", "--port", str(port), "--force"], env)
    assert stop.returncode == 0 and f"killed mlx-serve on port {port}" in stop.stdout
    assert not alive(pid) and not pid_file(env, port).exists()


def test_stale_pid_file_of_an_unrelated_process_is_left_alone(env, tmp_path):
    unrelated = subprocess.Popen(["sleep", "60"])
    try:
        port = free_port()
        path = pid_file(env, port)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Exactly what a crashed server leaves behind once its PID is reused.
        record = {
            "pid": unrelated.pid,
            "host": "127.0.0.1",
            "port": port,
            "started_at": time.time() - 3600,
            "process_start": "12345",
            "log_file": str(tmp_path / "x.log"),
        }
        path.write_text(json.dumps(record))
        status = run_cli(["status", "--port", str(port)], env)
        assert status.returncode == 3 and not path.exists()
        path.write_text(f"{unrelated.pid}\n")  # a bare PID is never trusted either
        for args in (["stop", "--port", str(port)], ["stop", "--all", "--force"]):
            result = run_cli(args, env)
            assert result.returncode == 0 and "not running" in result.stdout
        assert unrelated.poll() is None and alive(unrelated.pid)
        assert not path.exists()
    finally:
        unrelated.kill()
        unrelated.wait()


def test_start_on_a_busy_port_is_refused(env):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = start(env, port, check=False)
    assert result.returncode == 1
    assert re.search(rf"port {port} is already in use by another program", result.stderr)
    assert not pid_file(env, port).exists()


def test_failed_start_shows_the_log_and_exits_non_zero(env, tmp_path):
    # A models directory that is a file: the server process fails while starting up.
    not_a_dir = tmp_path / "models-file"
    not_a_dir.write_text("")
    env["MLX_SERVE_MODELS_DIR"] = str(not_a_dir)
    port = free_port()
    result = start(env, port, check=False)
    assert result.returncode == 1
    assert "exited during start-up" in result.stderr
    assert "last lines of the log" in result.stderr and "models-file" in result.stderr
    assert not pid_file(env, port).exists()


def test_a_broken_preload_is_reported_and_the_others_are_served(env, models_dir, tmp_path):
    import shutil

    own = tmp_path / "models"
    shutil.copytree(models_dir / MODEL, own / MODEL)
    shutil.copytree(models_dir / MODEL, own / "broken")
    meta = json.loads((own / "broken" / "mlx-serve.json").read_text())
    (own / "broken" / "mlx-serve.json").write_text(json.dumps({**meta, "name": "broken"}))
    (own / "broken" / "model.safetensors").write_bytes(b"not a checkpoint")
    env["MLX_SERVE_MODELS_DIR"] = str(own)
    port = free_port()
    start(env, port, "--preload", f"broken,no-such-model,{MODEL}")
    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()
    assert health["status"] == "ok" and health["models_loaded"] == [MODEL]
    assert "broken" in health["preload_failures"]
    assert "not found" in health["preload_failures"]["no-such-model"]
    assert embed(port, ["still serving"]).status_code == 200
    log = Path(env["MLX_SERVE_HOME"]) / "logs" / f"mlx-serve-{port}.log"
    assert "preload of model 'broken' failed" in log.read_text()
