"""What a balancer sees of one replica: liveness, readiness, its name, and its drain.

- ``/health/live`` is 200 while the process runs, starting and draining included.
- ``/health/ready`` is 200 only once the preloads are in memory, 503 while draining.
- Every response, errors included, names the replica in ``X-Replica`` (default
  ``<hostname>:<port>``); ``/health`` and the probes carry it in their body.
- On SIGTERM with ``MLX_SERVE_DRAIN_SECONDS``, the replica keeps serving while not ready,
  closes each connection after its response (no keep-alive while draining), and exits 0.
"""

from __future__ import annotations

import signal
import socket
import sys
import time

import httpx
import pytest

from tests.support.replicas import MINILM, replica_env, shared_models_dir
from tests.support.server import free_port, spawn

pytestmark = pytest.mark.slow

BOUND = 20_000  # polls; each waits 50 ms at most on a connection refused, so minutes in all


def test_probes_replica_header_and_drain(tmp_path):
    models = shared_models_dir(tmp_path)
    port = free_port()
    env = replica_env(tmp_path / "replica", models, drain_seconds="5")
    command = [
        sys.executable, "-m", "mlx_serve", "start", "--foreground",
        "--host", "127.0.0.1", "--port", str(port), "--preload", MINILM,
    ]  # fmt: skip
    server = spawn(command, env, port, tmp_path / "replica" / "server.log")
    base = server.base_url
    name = f"{socket.gethostname()}:{port}"
    try:
        # Starting: whenever readiness says 200, the preloaded model is already in memory.
        for _ in range(BOUND):
            assert server.alive(), server.log_tail()
            try:
                ready = httpx.get(f"{base}/health/ready", timeout=10)
            except httpx.TransportError:
                continue  # not listening yet
            assert httpx.get(f"{base}/health/live", timeout=10).status_code == 200
            if ready.status_code == 200:
                loaded = httpx.get(f"{base}/health", timeout=10).json()["models_loaded"]
                assert MINILM in loaded
                break
            assert ready.status_code == 503
            assert ready.json() == {"status": "starting", "ready": False, "replica": name}
        else:
            pytest.fail("never ready")

        with httpx.Client(base_url=base, timeout=60) as client:
            assert client.get("/health/ready").json() == {
                "status": "ok", "ready": True, "replica": name,
            }  # fmt: skip
            assert client.get("/health/live").json() == {"status": "alive", "replica": name}
            health = client.get("/health")
            assert health.json()["replica"] == name
            assert health.json()["status"] == "ok"
            embedded = client.post("/v1/embeddings", json={"model": MINILM, "input": "hi"})
            assert embedded.status_code == 200
            assert embedded.headers["x-replica"] == name
            assert embedded.headers["connection"] == "keep-alive"
            missing = client.post("/v1/embeddings", json={"model": "nope", "input": "hi"})
            assert missing.status_code == 404
            assert missing.headers["x-replica"] == name
            assert client.get("/no/such/route").headers["x-replica"] == name
            bad = client.post("/v1/embeddings", content=b"{not json")
            assert bad.status_code == 400
            assert bad.headers["x-replica"] == name

            # Drain: not ready, still alive, still serving, closing connections behind it.
            server.process.send_signal(signal.SIGTERM)
            for _ in range(BOUND):  # until the signal is handled
                ready = client.get("/health/ready")
                if ready.status_code != 200:
                    break
                time.sleep(0.01)
            assert ready.status_code == 503, ready.text
            assert ready.json() == {"status": "draining", "ready": False, "replica": name}
            assert ready.headers["connection"] == "close"
            assert client.get("/health/live").status_code == 200
            assert client.get("/health").json()["status"] == "draining"
            during = client.post("/v1/embeddings", json={"model": MINILM, "input": "hi"})
            assert during.status_code == 200
            assert during.headers["connection"] == "close"
        assert server.process.wait(timeout=120) == 0, server.log_tail()
    finally:
        server.stop()
