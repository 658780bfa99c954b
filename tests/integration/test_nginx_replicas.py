"""Two replicas behind the shipped nginx configuration, under load, losing a replica.

Two real servers share one models directory; nginx (deploy/nginx/mlx-serve.conf, rendered
for loopback ports) balances between them while three client threads send embedding
requests in bounded loops. Meanwhile the test

1. kills replica A with SIGKILL, restarts it on the same port, and waits until nginx sends
   it traffic again;
2. does a rolling restart with drain: SIGTERM to A (``/health/ready`` turns 503 at once while
   A keeps serving for ``MLX_SERVE_DRAIN_SECONDS``, then A stops accepting, finishes what it
   holds and exits 0), restart A, wait for traffic; then the same for B.

What a client sees, exactly: every request answers 200 with the right vector, none fails.
The requests in the killed replica's hands had received no byte of their answer, so nginx
sends them to the other replica (``proxy_next_upstream error`` with ``non_idempotent``, as
embeddings are pure); connections refused by a dead or stopped replica are retried the same
way. The access log proves retries happened (requests answered by the second replica tried).
A client would see a failure only if a replica died after starting to send its response,
which nginx cannot retry; a response here is one small write, so that cannot be provoked.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np
import pytest

from tests.support.nginx import nginx_binary, start_nginx
from tests.support.replicas import MINILM, shared_models_dir, start_replica
from tests.support.server import ServerProcess, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (tools/test.sh)"),
]

TEXTS = ["first replica test", "second sentence to embed", "a third, longer sentence here"]
CLIENTS = 3
MAX_REQUESTS_PER_CLIENT = 20_000  # a bound; the test stops the clients long before
# Between a client's requests: steady load that leaves CPU for the replicas restarting on
# this small machine (they import MLX and load the model while the others serve).
PAUSE_SECONDS = 0.05
DRAIN_SECONDS = 3.0
WAIT_SECONDS = 180.0


@dataclass
class Outcome:
    status: int | None  # None: no HTTP answer at all
    replica: str | None
    problem: str | None = None


@dataclass
class Load:
    """Client threads posting embeddings through nginx until told to stop."""

    url: str
    expected: dict[str, np.ndarray]
    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for index in range(CLIENTS):
            thread = threading.Thread(target=self._client, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self) -> list[Outcome]:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)
        return list(self.outcomes)

    def seen(self, replica: str, after: int) -> bool:
        with self.lock:
            return any(o.replica == replica for o in self.outcomes[after:])

    def count(self) -> int:
        with self.lock:
            return len(self.outcomes)

    def _client(self, index: int) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as client:
            for n in range(MAX_REQUESTS_PER_CLIENT):
                if self.stop.is_set():
                    return
                text = TEXTS[(index + n) % len(TEXTS)]
                self._record(self._one(client, text))
                time.sleep(PAUSE_SECONDS)

    def _one(self, client: httpx.Client, text: str) -> Outcome:
        try:
            response = client.post("/v1/embeddings", json={"model": MINILM, "input": [text]})
        except httpx.HTTPError as exc:
            return Outcome(None, None, repr(exc))
        replica = response.headers.get("x-replica")
        if response.status_code != 200:
            return Outcome(response.status_code, replica, response.text[:300])
        vector = np.array(response.json()["data"][0]["embedding"])
        if not np.allclose(vector, self.expected[text], atol=1e-5):
            return Outcome(200, replica, f"wrong vector for {text!r}")
        return Outcome(200, replica)

    def _record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


@dataclass
class Replica:
    name: str
    port: int
    root: object
    models: object
    server: ServerProcess | None = None

    def start(self) -> None:
        self.server = start_replica(
            self.root, self.models, port=self.port,
            replica_name=self.name, drain_seconds=str(DRAIN_SECONDS),
        )  # fmt: skip

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def wait_for(condition, what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.1)


def drain_and_restart(replica: Replica, load: Load) -> list[int]:
    """SIGTERM ``replica``, record what /health/ready says until it stops; restart it."""
    assert replica.server is not None
    replica.server.process.send_signal(signal.SIGTERM)
    ready_statuses: list[int] = []
    while replica.server.alive():  # bounded by the drain plus the graceful timeout
        with contextlib.suppress(httpx.HTTPError):  # drain over: the socket is closed
            ready_statuses.append(httpx.get(replica.url("/health/ready"), timeout=5).status_code)
        time.sleep(0.05)
    assert replica.server.stop() == 0, replica.server.log_tail()
    mark = load.count()
    replica.start()
    wait_for(lambda: load.seen(replica.name, mark), f"nginx to send {replica.name} traffic")
    return ready_statuses


def test_two_replicas_behind_nginx_survive_a_kill_and_a_rolling_restart(tmp_path):
    models = shared_models_dir(tmp_path)
    a = Replica("replica-a", free_port(), tmp_path / "a", models)
    b = Replica("replica-b", free_port(), tmp_path / "b", models)
    nginx = load = None
    try:
        a.start()
        b.start()
        expected = {}
        with httpx.Client(timeout=120) as direct:
            for text in TEXTS:
                body = {"model": MINILM, "input": [text]}
                answer = direct.post(a.url("/v1/embeddings"), json=body)
                expected[text] = np.array(answer.json()["data"][0]["embedding"])
                assert answer.headers["x-replica"] == "replica-a"
            assert direct.get(b.url("/health/ready")).json()["replica"] == "replica-b"

        nginx = start_nginx([a.port, b.port], tmp_path / "nginx")
        load = Load(nginx.base_url, expected)
        load.start()
        wait_for(lambda: load.seen("replica-a", 0) and load.seen("replica-b", 0), "both replicas")

        # 1. SIGKILL mid-load, then the same replica comes back on the same port.
        assert a.server is not None
        os.kill(a.server.pid, signal.SIGKILL)
        a.server.process.wait(timeout=30)
        a.server.stop()  # closes its log
        mark = load.count()
        wait_for(lambda: load.count() > mark + 20, "requests while replica-a is dead")
        mark = load.count()
        a.start()
        wait_for(lambda: load.seen("replica-a", mark), "nginx to send replica-a traffic again")

        # 2. Rolling restart with drain, one replica at a time.
        ready_a = drain_and_restart(a, load)
        ready_b = drain_and_restart(b, load)
        outcomes = load.finish()
    finally:
        if load is not None:
            load.finish()
        if nginx is not None:
            nginx.stop()
        for replica in (a, b):
            if replica.server is not None:
                replica.server.stop()

    failures = [o for o in outcomes if o.status != 200 or o.problem]
    assert not failures, f"{len(failures)} of {len(outcomes)} failed, e.g. {failures[:5]}"
    served = Counter(o.replica for o in outcomes)
    assert set(served) == {"replica-a", "replica-b"}, served
    # Draining: not ready (503) while still serving, never ready again once it said so (a
    # first 200 or two may come before the signal is handled).
    for statuses in (ready_a, ready_b):
        assert 503 in statuses, statuses
        assert set(statuses[statuses.index(503) :]) == {503}, statuses
    # Retries really happened: answered by the second replica nginx tried.
    log = nginx.access_log()
    retried = [line for line in log if line.startswith("200 ") and ", " in line.split('"')[1]]
    assert retried, "no request was retried on another replica:\n" + "\n".join(log[-20:])
    assert len([line for line in log if "/v1/embeddings" in line]) == len(outcomes)
