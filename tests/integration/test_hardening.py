"""What a hostile or unlucky client can do (issue 15), against real servers over real sockets.

Each test sends the request the issue measured, checks the status and the body's shape, then
that ``/health`` still answers 200 and that a normal request right after is answered (within a
generous client timeout; nothing here asserts on timing).

Disk full: the free-space check is driven by a Hub listing that declares a 1 PiB weights file
(nothing is downloaded); a disk filling up mid-download is real, not simulated in the code: the
second server runs under ``ulimit -f`` (RLIMIT_FSIZE), so its writes past 4 MiB fail with
EFBIG, which the server treats like ENOSPC. No mount, no root needed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.hub_checkpoints import build_cross_encoder, build_embedding
from tests.support.server import ServerProcess, free_port, isolated_env, spawn
from tools.fake_hub import FakeHub

EMBED, RERANK, CORRUPT = "test-org/tiny-embed", "test-org/tiny-rerank", "test-org/tiny-corrupt"
HUGE, BIG = "test-org/tiny-huge", "test-org/tiny-big"
MAX_REQUEST_TOKENS = 32768
MAX_CONNECTIONS = 24
HEADER_TIMEOUT, BODY_TIMEOUT = 2, 2
ALLOWED_ORIGIN, ALLOWED_HOST = "http://app.example", "api.example"
CLIENT_TIMEOUT = 120.0
FSIZE_LIMIT_KIB = 4096  # ulimit -f of the disk-full server: 4 MiB per file
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hardening-hub")
    embed = build_embedding(root / "embed")
    big = build_embedding(root / "big")
    # Weights larger than the disk-full server may write; never converted (the pull fails).
    (big / "model.safetensors").write_bytes(os.urandom(2 * FSIZE_LIMIT_KIB * 1024))
    with FakeHub() as hub:
        for repo in (EMBED, CORRUPT, HUGE):
            hub.add_repo(repo, embed)
        hub.add_repo(RERANK, build_cross_encoder(root / "rerank"))
        hub.add_repo(BIG, big)
        # The listing declares 1 PiB of weights; the bytes served stay the tiny ones.
        files = hub.repos[HUGE].commits[hub.repos[HUGE].refs["main"]]
        files["model.safetensors"] = dataclasses.replace(
            files["model.safetensors"], size=2**50
        )
        yield hub


def _start(root: Path, env: dict[str, str], *, prefix: list[str] | None = None) -> ServerProcess:
    port = free_port()
    command = [
        *(prefix or []), sys.executable, "-m", "mlx_serve", "start", "--foreground",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    server = spawn(command, env, port, root / f"server-{port}.log")
    server.wait_healthy()
    return server


def _pull(url: str, model: str) -> httpx.Response:
    return httpx.post(f"{url}/api/pull", json={"model": model, "stream": False},
                      timeout=CLIENT_TIMEOUT)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, hub: FakeHub):
    root = tmp_path_factory.mktemp("hardening-server")
    env = isolated_env(root, {
        "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0",
        "MLX_SERVE_MAX_REQUEST_TOKENS": str(MAX_REQUEST_TOKENS),
        "MLX_SERVE_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "MLX_SERVE_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "MLX_SERVE_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "MLX_SERVE_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
        "MLX_SERVE_ALLOWED_HOSTS": ALLOWED_HOST,
    })
    server = _start(root, env)
    try:
        for model in (EMBED, RERANK, CORRUPT):
            pulled = _pull(server.base_url, model)
            assert pulled.status_code == 200, pulled.text
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def url(server: ServerProcess) -> str:
    return server.base_url


def private_root(server: ServerProcess) -> str:
    """The server's home: no response may show it (nor any path below it)."""
    return str(Path(server.env["MLX_SERVE_HOME"]).parent)


def assert_still_serving(url: str) -> None:
    """``/health`` answers 200 and a normal embedding request right after is answered."""
    for _ in range(50):  # a just-closed connection may still count against the cap
        health = httpx.get(f"{url}/health", timeout=CLIENT_TIMEOUT)
        if health.status_code != 503 or health.json().get("status") == "draining":
            break
        time.sleep(0.1)
    assert health.status_code == 200, health.text
    normal = httpx.post(f"{url}/api/embed", json={"model": "tiny-embed", "input": "good music"},
                        timeout=CLIENT_TIMEOUT)
    assert normal.status_code == 200, normal.text
    assert len(normal.json()["embeddings"]) == 1


def openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def ollama_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str)
    return body["error"]


def raw_exchange(url: str, data: bytes, *, drip: bytes = b"", timeout: float = 60.0) -> bytes:
    """Send ``data`` (then ``drip`` a byte every 0.5 s) on one socket; all the server answers
    until it closes the connection."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        for byte in drip:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break  # the server closed on us: what it said is in the buffer
            time.sleep(0.5)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, body


# 1. Any web page can drive a local server ------------------------------------------------

def test_cross_origin_simple_pull_is_refused(url: str):
    response = httpx.post(
        f"{url}/api/pull", content=json.dumps({"model": "test-org/tiny-huge"}),
        headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
        timeout=CLIENT_TIMEOUT,
    )
    assert "evil.example" in ollama_error(response, 403)
    tags = httpx.get(f"{url}/api/tags", timeout=CLIENT_TIMEOUT).json()["models"]
    assert "tiny-huge" not in {m["name"] for m in tags}
    assert_still_serving(url)


def test_dns_rebinding_host_is_refused(url: str):
    response = httpx.get(f"{url}/api/tags", headers={"Host": "evil.example"},
                         timeout=CLIENT_TIMEOUT)
    assert "evil.example" in ollama_error(response, 403)
    openai = httpx.post(f"{url}/v1/embeddings", json={"model": "tiny-embed", "input": "x"},
                        headers={"Host": "evil.example:8000"}, timeout=CLIENT_TIMEOUT)
    assert openai_error(openai, 403)["code"] == "host_not_allowed"
    assert_still_serving(url)


@pytest.mark.parametrize("headers", [
    {"Host": ALLOWED_HOST},
    {"Host": "localhost:1234"},
    {"Host": "[::1]:8000"},
    {"Origin": ALLOWED_ORIGIN},
    {"Origin": "http://localhost:3000"},
    {"Origin": "http://127.0.0.1:5173"},
])
def test_loopback_and_configured_hosts_and_origins_are_served(url: str, headers: dict):
    response = httpx.post(f"{url}/api/embed", json={"model": "tiny-embed", "input": "x"},
                          headers=headers, timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_state_changing_routes_accept_only_json(url: str, content_type: str):
    body = json.dumps({"model": "tiny-embed"})
    deleted = httpx.request("DELETE", f"{url}/api/delete", content=body,
                            headers={"Content-Type": content_type}, timeout=CLIENT_TIMEOUT)
    assert "application/json" in ollama_error(deleted, 415)
    embedded = httpx.post(f"{url}/v1/embeddings", content=body,
                          headers={"Content-Type": content_type}, timeout=CLIENT_TIMEOUT)
    assert openai_error(embedded, 415)["param"] == "Content-Type"
    assert_still_serving(url)  # tiny-embed was not deleted


# 2. keep_alive: 1e15 made /health and /api/ps answer 500 ----------------------------------

def test_huge_keep_alive_is_refused_and_health_stays_up(url: str):
    response = httpx.post(f"{url}/api/embed",
                          json={"model": "tiny-embed", "input": "x", "keep_alive": 1e15},
                          timeout=CLIENT_TIMEOUT)
    assert "keep_alive" in ollama_error(response, 400)
    assert httpx.get(f"{url}/api/ps", timeout=CLIENT_TIMEOUT).status_code == 200
    assert_still_serving(url)


@pytest.mark.parametrize(("path", "body", "param"), [
    ("/api/embed", {"model": "tiny-embed", "input": "x", "keep_alive": "1e15s"}, "keep_alive"),
    ("/api/embed", {"model": "tiny-embed", "input": "x", "keep_alive": 10**400}, "keep_alive"),
    ("/api/embeddings", {"model": "tiny-embed", "prompt": "x", "keep_alive": 1e300},
     "keep_alive"),
    ("/v1/embeddings", {"model": "tiny-embed", "input": "x", "dimensions": 10**30}, "dimensions"),
    ("/v1/embeddings", {"model": "tiny-embed", "input": "x", "dimensions": -(10**30)},
     "dimensions"),
    ("/v1/rerank", {"model": "tiny-rerank", "query": "q", "documents": ["d"], "top_n": 0},
     "top_n"),
    ("/v1/rerank", {"model": "tiny-rerank", "query": "q", "documents": ["d"],
                    "decision_threshold": 1e308}, "decision_threshold"),
    ("/v1/rerank", {"model": "tiny-rerank", "query": "q", "documents": ["d"],
                    "max_tokens_per_doc": -(10**30)}, "max_tokens_per_doc"),
])
def test_out_of_range_numbers_are_400(url: str, path: str, body: dict, param: str):
    response = httpx.post(f"{url}{path}", content=json.dumps(body), headers=JSON,
                          timeout=CLIENT_TIMEOUT)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert param in (error if isinstance(error, str) else error["message"] + str(error["param"]))
    assert_still_serving(url)


def test_huge_but_harmless_numbers_are_served(url: str):
    response = httpx.post(f"{url}/v1/rerank", json={
        "model": "tiny-rerank", "query": "q", "documents": ["a", "b"], "top_n": 10**30,
        "max_tokens_per_doc": 10**30,
    }, timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 2


# 3. A lone UTF-16 surrogate made the tokenizer raise a 500 --------------------------------

@pytest.mark.parametrize(("path", "body", "param"), [
    ("/v1/embeddings", '{"model": "tiny-embed", "input": "\\ud800"}', "input"),
    ("/v1/rerank", '{"model": "tiny-rerank", "query": "q", "documents": ["ok", "\\ud800"]}',
     "documents[1]"),
    ("/api/embed", '{"model": "tiny-embed", "input": ["ok", "\\udfff x"]}', "input[1]"),
    ("/api/embeddings", '{"model": "tiny-embed", "prompt": "a\\ud800b"}', "prompt"),
    ("/v1/tokenize", '{"model": "tiny-embed", "input": "\\ud800"}', "input"),
])
def test_lone_surrogate_is_400_naming_the_input(url: str, path: str, body: str, param: str):
    response = httpx.post(f"{url}{path}", content=body, headers=JSON, timeout=CLIENT_TIMEOUT)
    if path.startswith("/api/"):
        message = ollama_error(response, 400)
    else:
        error = openai_error(response, 400)
        assert error["param"] == param
        message = error["message"]
    assert param in message and "surrogate" in message
    assert_still_serving(url)


def test_paired_surrogates_are_text(url: str):
    response = httpx.post(f"{url}/api/embed", content='{"model": "tiny-embed", '
                          '"input": "music \\ud83c\\udfb5"}', headers=JSON,
                          timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200, response.text


def test_body_that_is_not_utf8_is_400(url: str):
    response = httpx.post(f"{url}/v1/embeddings", headers=JSON, timeout=CLIENT_TIMEOUT,
                          content=b'{"model": "tiny-embed", "input": "\xff\xfe"}')
    assert "UTF-8" in openai_error(response, 400)["message"]
    assert_still_serving(url)


# 4. One legal request held the server for minutes ----------------------------------------

def test_token_cost_bound_refuses_huge_embedding_request(url: str):
    body = {"model": "tiny-embed", "input": [[5 + (i % 100)] * 488 for i in range(2048)]}
    response = httpx.post(f"{url}/v1/embeddings", json=body, timeout=CLIENT_TIMEOUT)
    error = openai_error(response, 413)
    assert str(MAX_REQUEST_TOKENS) in error["message"]
    assert "MLX_SERVE_MAX_REQUEST_TOKENS" in error["message"] and error["param"] == "input"
    assert_still_serving(url)


def test_token_cost_bound_refuses_huge_rerank_request(url: str):
    document = ("the river city music " * 1000)[:20_000]
    body = {"model": "tiny-rerank", "query": "music", "documents": [document] * 1000}
    response = httpx.post(f"{url}/v1/rerank", json=body, timeout=CLIENT_TIMEOUT)
    error = openai_error(response, 413)
    assert str(MAX_REQUEST_TOKENS) in error["message"] and error["param"] == "documents"
    assert_still_serving(url)


def test_request_under_the_bound_is_served(url: str):
    body = {"model": "tiny-embed", "input": ["the cat is on the river"] * 256}
    response = httpx.post(f"{url}/v1/embeddings", json=body, timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 256


# 5. Disk full ----------------------------------------------------------------------------

def test_pull_larger_than_free_space_is_refused_first(url: str, hub: FakeHub, server):
    before = len(hub.requests)
    response = _pull(url, HUGE)
    message = ollama_error(response, 507)
    assert "PiB" in message and "free" in message and private_root(server) not in message
    downloads = [path for method, path, _, _ in hub.requests[before:]
                 if method == "GET" and "/resolve/" in path]
    assert downloads == []
    leftovers = Path(server.env["MLX_SERVE_HOME"]) / "models" / ".downloads"
    assert not (leftovers / "test-org--tiny-huge").exists()
    streamed = httpx.post(f"{url}/api/pull", json={"model": HUGE}, timeout=CLIENT_TIMEOUT)
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert "PiB" in lines[-1]["error"]
    assert_still_serving(url)


@pytest.fixture(scope="module")
def small_disk_server(tmp_path_factory: pytest.TempPathFactory, hub: FakeHub):
    root = tmp_path_factory.mktemp("hardening-small-disk")
    env = isolated_env(root, {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"})
    # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG instead of killing.
    server = _start(root, env, prefix=["bash", "-c", f'ulimit -f {FSIZE_LIMIT_KIB} && exec "$@"',
                                       "ulimit"])
    try:
        yield server
    finally:
        server.stop()


def test_disk_filling_mid_pull_cleans_up_and_names_the_cause(small_disk_server):
    url = small_disk_server.base_url
    response = _pull(url, BIG)
    message = ollama_error(response, 507)
    assert "disk filled up" in message and "tiny-big" in message
    assert private_root(small_disk_server) not in message
    downloads = Path(small_disk_server.env["MLX_SERVE_HOME"]) / "models" / ".downloads"
    assert not (downloads / "test-org--tiny-big").exists()
    # The next (small) pull is not blocked by what the failed one wrote.
    assert _pull(url, EMBED).status_code == 200
    assert_still_serving(url)


# 6. Slow clients were never cut ----------------------------------------------------------

def test_slow_headers_get_408(url: str):
    answer = raw_exchange(url, b"GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                          drip=b"X-Slow: " + b"a" * 40)
    status, headers, body = split_response(answer)
    # The request line is all the server has: the envelope may be either dialect's.
    assert status == 408 and "MLX_SERVE_HEADER_TIMEOUT_SECONDS" in json.dumps(json.loads(body))
    assert_still_serving(url)


def test_stalled_body_gets_408(url: str):
    head = (b"POST /api/embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    answer = raw_exchange(url, head + b'{"model": "tiny-embed", "input": "hello wor')
    status, headers, body = split_response(answer)
    assert status == 408 and "stalled" in json.loads(body)["error"]
    assert headers.get("connection") == "close"
    assert_still_serving(url)


def test_connections_past_the_cap_get_503(url: str):
    host, port = url.removeprefix("http://").split(":")
    held = [socket.create_connection((host, int(port)), timeout=30)
            for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.5)  # let the server accept them all before the next one
        answer = raw_exchange(url, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, headers, body = split_response(answer)
        assert status == 503 and headers.get("retry-after") == "1"
        assert json.loads(body)["error"]["code"] == "too_many_connections"
    finally:
        for sock in held:
            sock.close()
    assert_still_serving(url)


# 7. Request smuggling --------------------------------------------------------------------

@pytest.mark.parametrize("framing", [
    b"Transfer-Encoding : chunked\r\nContent-Length: %d\r\n",
    b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n",
    b"Content-Length: %d\r\nTransfer-Encoding: gzip\r\n",
    b"Content-Length : %d\r\n",
    b"Content-Length: %d\r\n X-Folded: yes\r\n",
])
def test_ambiguous_framing_is_400_and_closed(url: str, framing: bytes):
    hidden = b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    body = b"0\r\n\r\n" + hidden
    request = (b"POST /api/embed HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\n" + framing % len(body) + b"\r\n" + body)
    answer = raw_exchange(url, request)
    status, headers, payload = split_response(answer)
    assert status == 400 and "framing" in json.loads(payload.split(b"\r\n\r\n")[0])["error"]
    assert b"version" not in answer  # the hidden request was never answered
    assert answer.count(b"HTTP/1.1 ") == 1
    assert_still_serving(url)


# 8. Smaller ------------------------------------------------------------------------------

def test_flat_token_id_list_is_truncated_like_text(url: str):
    response = httpx.post(f"{url}/v1/embeddings",
                          json={"model": "tiny-embed", "input": [7] * 3000},
                          timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 1
    refused = httpx.post(f"{url}/v1/embeddings",
                         json={"model": "tiny-embed", "input": [7] * 3000, "truncate": False},
                         timeout=CLIENT_TIMEOUT)
    assert openai_error(refused, 400)["param"] == "input[0]"
    assert_still_serving(url)


def test_show_reveals_no_server_path(url: str, server):
    response = httpx.post(f"{url}/api/show", json={"model": "tiny-embed"},
                          timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200
    assert response.json()["path"] == "tiny-embed"
    assert private_root(server) not in response.text
    assert_still_serving(url)


def test_corrupt_model_is_503_naming_it_without_paths(url: str, server):
    weights = Path(server.env["MLX_SERVE_HOME"]) / "models" / "tiny-corrupt" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    response = httpx.post(f"{url}/v1/embeddings", json={"model": "tiny-corrupt", "input": "x"},
                          timeout=CLIENT_TIMEOUT)
    error = openai_error(response, 503)
    assert "tiny-corrupt" in error["message"] and error["code"] == "model_load_failed"
    assert private_root(server) not in response.text
    ollama = httpx.post(f"{url}/api/embed", json={"model": "tiny-corrupt", "input": "x"},
                        timeout=CLIENT_TIMEOUT)
    assert "tiny-corrupt" in ollama_error(ollama, 503)
    assert private_root(server) not in ollama.text
    assert_still_serving(url)
