"""SIGTERM while requests are in flight: they all finish with full answers, new connections are
refused while the server drains, and the process exits 0."""

from __future__ import annotations

import signal
import threading
import time

import httpx
import pytest

from tests.support.server import install_minilm, isolated_env, start_mlx_serve

pytestmark = pytest.mark.slow

MODEL = "all-MiniLM-L6-v2"
CLIENTS = 8
TEXTS_PER_REQUEST = 128
KEY = "drain-key"


def test_sigterm_drains_requests_in_flight_then_exits_0(tmp_path):
    env = isolated_env(tmp_path, {
        "MLX_SERVE_API_KEY": KEY,
        "MLX_SERVE_GRACEFUL_TIMEOUT_SECONDS": "300",  # a slow CI machine must not cut the drain
    })  # fmt: skip
    install_minilm(env, MODEL)
    server = start_mlx_serve(tmp_path, env=env, extra_args=["--preload", MODEL])
    headers = {"Authorization": f"Bearer {KEY}"}
    texts = [f"sentence number {i} about draining a server gracefully " * 4
             for i in range(TEXTS_PER_REQUEST)]
    results: list[object] = [None] * CLIENTS

    def client(index: int) -> None:
        try:
            response = httpx.post(f"{server.base_url}/v1/embeddings", headers=headers,
                                  json={"model": MODEL, "input": texts}, timeout=600)
            results[index] = response
        except httpx.HTTPError as exc:
            results[index] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    # Wait (bounded) until every request holds the model: all of them are in flight.
    for _ in range(600):
        models = httpx.get(f"{server.base_url}/health", timeout=10).json()["models"]
        if models and models[0]["in_use"] >= CLIENTS:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the requests never got in flight:\n" + server.log_tail())

    server.process.send_signal(signal.SIGTERM)
    refused_while_draining = False
    for _ in range(400):
        alive = server.alive()
        try:
            status = httpx.get(f"{server.base_url}/health", timeout=5).status_code
            refused = status == 503  # draining
        except httpx.TransportError:  # the listening socket is closed
            refused = True
        if refused:
            refused_while_draining = alive and any(t.is_alive() for t in threads)
            break
        time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=600)

    assert server.process.wait(timeout=600) == 0, server.log_tail()
    server.stop()
    for response in results:
        assert isinstance(response, httpx.Response), (response, server.log_tail())
        assert response.status_code == 200, response.text
        assert len(response.json()["data"]) == TEXTS_PER_REQUEST
    assert refused_while_draining, server.log_tail()
