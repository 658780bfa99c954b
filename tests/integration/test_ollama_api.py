"""The Ollama-compatible API of a real server, driven by the real ``ollama`` SDK and raw httpx.

The server pulls from the Hub stand-in (``HF_ENDPOINT``), with auto-download on.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import ollama
import pytest

from tests.support.hub_checkpoints import build_cross_encoder, build_embedding
from tests.support.server import isolated_env, run_cli, start_mlx_serve
from tools.fake_hub import FakeHub

EMBED, RERANK = "test-org/tiny-embed", "test-org/tiny-rerank"
SHARED, AUTO, SLOW = "test-org/tiny-shared", "test-org/tiny-auto", "test-org/tiny-slow"
AUTO_TIMEOUT_SECONDS = 8
BAD_NAMES = ["../x", "a/../../x", "/etc/passwd", "bad\x1bname", "tab\tname", "x/..", ".."]
TEXTS = ["the cat is on the river", "paris is the capital of france", "good music"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ollama-hub")
    embed = build_embedding(root / "embed")
    with FakeHub() as hub:
        for repo in (EMBED, SHARED, AUTO, SLOW, *(f"{EMBED}-q{b}" for b in (4, 8))):
            hub.add_repo(repo, embed)
        hub.add_repo(RERANK, build_cross_encoder(root / "rerank"))
        yield hub


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, hub: FakeHub):
    root = tmp_path_factory.mktemp("ollama-server")
    env = isolated_env(root, {
        "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0",
        "MLX_SERVE_AUTO_DOWNLOAD": "true",
        "MLX_SERVE_AUTO_DOWNLOAD_TIMEOUT_SECONDS": str(AUTO_TIMEOUT_SECONDS),
    })
    server = start_mlx_serve(root, env=env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def url(server) -> str:
    return server.base_url


@pytest.fixture(scope="module")
def client(url) -> ollama.Client:
    return ollama.Client(host=url)


@pytest.fixture(scope="module")
def pulled(client: ollama.Client) -> list:
    """tiny-embed pulled through the SDK, streamed; the progress events it saw."""
    return list(client.pull(EMBED, stream=True))


def model_downloads(hub: FakeHub, repo: str) -> int:
    return sum(1 for m, path, _, _ in hub.requests
               if m == "GET" and path.startswith(f"/{repo}/resolve/")
               and path.endswith("/model.safetensors"))


def test_pull_streams_progress(pulled):
    statuses = [event.status for event in pulled]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    for stage in ("converting", "verifying", "writing manifest"):
        assert stage in statuses
    weights = [e for e in pulled if e.status == "pulling model.safetensors"]
    assert weights and weights[-1].completed == weights[-1].total > 0
    assert weights[-1].digest.startswith("sha256:")


def test_pull_not_streamed_and_raw_ndjson(client, url):
    assert client.pull(RERANK, stream=False).status == "success"
    # Pulling an installed model again is quick and successful.
    with httpx.stream("POST", f"{url}/api/pull", json={"model": RERANK}, timeout=60) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert lines[-1] == {"status": "success"}


def test_list_and_tags_shape(client, url, pulled):
    assert "tiny-embed" in [m.model for m in client.list().models]
    body = httpx.get(f"{url}/api/tags").json()
    (entry,) = [m for m in body["models"] if m["name"] == "tiny-embed"]
    assert entry["model"] == "tiny-embed"
    datetime.fromisoformat(entry["modified_at"])  # RFC 3339
    assert isinstance(entry["size"], int) and entry["size"] > 0
    assert len(entry["digest"]) == 64 and int(entry["digest"], 16) >= 0
    assert set(entry["details"]) >= {"format", "family", "families", "parameter_size",
                                     "quantization_level"}


def test_show(client, url, pulled):
    shown = client.show("tiny-embed")
    assert shown.modelinfo["general.architecture"] == "BertModel"
    assert shown.capabilities == ["embedding"]
    body = httpx.post(f"{url}/api/show", json={"model": EMBED}).json()  # by repo id
    assert body["model_info"] and body["type"] == "embedding" and body["source"] == EMBED
    assert len(body["revision"]) == 40 and Path(body["path"]).name == "tiny-embed"
    assert body["size"] > 0


def test_embed_embeddings_and_ps(client, url, pulled):
    result = client.embed(model="tiny-embed", input=TEXTS)
    vectors = np.asarray(result.embeddings)
    assert vectors.shape == (3, 64)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    single = client.embeddings(model="tiny-embed", prompt=TEXTS[0]).embedding
    assert np.dot(single, vectors[0]) / np.linalg.norm(single) > 0.999
    raw = httpx.post(f"{url}/api/embed", json={"model": "tiny-embed", "input": "hi"}).json()
    assert set(raw) >= {"model", "embeddings", "total_duration", "load_duration",
                        "prompt_eval_count"}
    assert raw["model"] == "tiny-embed" and raw["prompt_eval_count"] > 0
    assert "tiny-embed" in [m.model for m in client.ps().models]
    ps = httpx.get(f"{url}/api/ps").json()["models"][0]
    assert set(ps) >= {"name", "model", "size", "digest", "details", "expires_at", "size_vram"}


def test_keep_alive_sets_the_models_time_in_memory(client, url, pulled):
    def expiry() -> str | None:
        models = httpx.get(f"{url}/api/ps").json()["models"]
        return {m["name"]: m["expires_at"] for m in models}.get("tiny-embed", "unloaded")

    client.embed(model="tiny-embed", input="kept", keep_alive=-1)
    assert expiry() is None  # negative: never expires
    client.embed(model="tiny-embed", input="kept", keep_alive="1h")
    assert expiry() is not None and expiry() != "unloaded"
    client.embed(model="tiny-embed", input="gone", keep_alive=0)
    deadline = time.monotonic() + 10
    while expiry() != "unloaded" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert expiry() == "unloaded"  # 0: unloaded right after the request
    huge = httpx.post(f"{url}/api/embed", content='{"model": "tiny-embed", "input": "x", '
                      '"keep_alive": 1' + "0" * 400 + "}")
    # Out of range (issue 15): refused with a 400 naming it, never a 500 on /api/ps later.
    assert huge.status_code == 400 and "keep_alive" in huge.json()["error"]
    assert httpx.get(f"{url}/api/ps").status_code == 200
    bad = httpx.post(f"{url}/api/embed", json={"model": "tiny-embed", "input": "x",
                                               "keep_alive": "soon"})
    assert bad.status_code == 400 and "keep_alive" in bad.json()["error"]


def test_version(url):
    body = httpx.get(f"{url}/api/version").json()
    assert isinstance(body["version"], str) and body["version"]


def test_delete(client, url):
    client.pull(RERANK, stream=False)
    assert client.delete("tiny-rerank").status == "success"
    assert "tiny-rerank" not in [m.model for m in client.list().models]
    r = httpx.request("DELETE", f"{url}/api/delete", json={"model": "tiny-rerank"})
    assert r.status_code == 404 and r.json() == {"error": "model 'tiny-rerank' not found"}
    with pytest.raises(ollama.ResponseError) as info:
        client.delete("never-installed")
    assert info.value.status_code == 404


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_on_every_endpoint(url, name):
    calls = [
        ("POST", "/api/show", {"model": name}),
        ("DELETE", "/api/delete", {"model": name}),
        ("POST", "/api/pull", {"model": name, "stream": False}),
        ("POST", "/api/pull", {"model": name}),
        ("POST", "/api/embed", {"model": name, "input": "x"}),
        ("POST", "/api/embeddings", {"model": name, "prompt": "x"}),
    ]
    for method, path, body in calls:
        r = httpx.request(method, f"{url}{path}", json=body, timeout=30)
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert isinstance(r.json()["error"], str), (path, r.text)


def test_pull_never_reads_the_servers_own_disk(url, server):
    """A directory on the server is not a source an HTTP client may pull from, even where
    the CLI would import it."""
    home = Path(server.env["HOME"])
    build_embedding(home / "llm")
    for ref in ("~/llm", str(home / "llm")):
        r = httpx.post(f"{url}/api/pull", json={"model": ref, "stream": False}, timeout=60)
        assert r.status_code in (400, 404), (ref, r.text)
        installed = httpx.get(f"{url}/api/tags").json()["models"]
        assert "llm" not in [m["name"] for m in installed]
    r = httpx.post(f"{url}/api/embed", json={"model": "~/llm", "input": "x"}, timeout=60)
    assert r.status_code in (400, 404, 503)
    assert "llm" not in str(httpx.get(f"{url}/api/tags").json())


def test_pull_errors(url):
    r = httpx.post(f"{url}/api/pull", json={"model": EMBED, "type": "chat"})
    assert r.status_code == 400 and "unknown model type 'chat'" in r.json()["error"]
    r = httpx.post(f"{url}/api/pull", json={"model": EMBED, "quantize": 3})
    assert r.status_code == 400
    r = httpx.post(f"{url}/api/pull", json={"model": "test-org/nope", "stream": False},
                   timeout=60)
    assert r.status_code == 404 and "not found" in r.json()["error"]
    with httpx.stream("POST", f"{url}/api/pull", json={"model": "test-org/nope"},
                      timeout=60) as r:
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert "not found" in lines[-1]["error"]


def test_concurrent_pulls_share_one_download_and_survive_disconnect(url, hub):
    hub.faults.throttle_bytes_per_second = 100_000
    try:
        # The first client walks away after the first line; the pull must go on.
        with httpx.stream("POST", f"{url}/api/pull", json={"model": SHARED}, timeout=60) as r:
            assert json.loads(next(r.iter_lines()))["status"] == "pulling manifest"
        results: list = []

        def pull() -> None:
            results.append(httpx.post(f"{url}/api/pull", json={"model": SHARED,
                                      "stream": False}, timeout=120))

        threads = [threading.Thread(target=pull) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
    finally:
        hub.faults.throttle_bytes_per_second = None
    assert [r.status_code for r in results] == [200, 200]
    assert model_downloads(hub, SHARED) == 1
    assert "tiny-shared" in [m["name"] for m in httpx.get(f"{url}/api/tags").json()["models"]]


def test_auto_download_on_first_request(url, hub):
    results: list = []

    def embed() -> None:
        results.append(httpx.post(f"{url}/api/embed", json={"model": AUTO, "input": "hi"},
                                  timeout=120))

    threads = [threading.Thread(target=embed) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    assert len(results[0].json()["embeddings"][0]) == 64
    assert model_downloads(hub, AUTO) == 1
    # A name that says nowhere to pull from is not pulled: a plain 404.
    r = httpx.post(f"{url}/api/embed", json={"model": "unknown-model", "input": "hi"})
    assert r.status_code == 404


def test_auto_download_timeout_answers_503_and_the_pull_goes_on(url, hub):
    hub.faults.throttle_bytes_per_second = 15_000  # ~23 s for the weights: past the bound
    try:
        r = httpx.post(f"{url}/v1/embeddings", json={"model": SLOW, "input": "hi"},
                       timeout=120)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"]["type"] == "overloaded_error"
    finally:
        hub.faults.throttle_bytes_per_second = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        names = [m["name"] for m in httpx.get(f"{url}/api/tags").json()["models"]]
        if "tiny-slow" in names:
            break
        time.sleep(0.5)
    assert "tiny-slow" in names


@pytest.mark.parametrize("bits,floor", [(8, 0.99), (4, 0.9)])
def test_quantised_pull_stays_close_to_float(url, pulled, bits, floor):
    repo = f"{EMBED}-q{bits}"
    r = httpx.post(f"{url}/api/pull", json={"model": repo, "quantize": bits, "stream": False},
                   timeout=300)
    assert r.status_code == 200, r.text
    show = httpx.post(f"{url}/api/show", json={"model": repo}).json()
    assert show["quantization"].startswith(f"{bits}bit")
    vectors = {}
    for model in ("tiny-embed", repo):
        body = httpx.post(f"{url}/api/embed", json={"model": model, "input": TEXTS}).json()
        vectors[model] = np.asarray(body["embeddings"])
    cosines = np.sum(vectors["tiny-embed"] * vectors[repo], axis=1)
    print(f"{bits}-bit cosine to float: min {cosines.min():.4f} mean {cosines.mean():.4f}")
    assert cosines.min() >= floor


def test_cli_commands_refuse_bad_names(server):
    for name in BAD_NAMES:
        for command in (["show", name], ["remove", name], ["pull", name]):
            result = run_cli(command, server.env)
            assert result.returncode != 0 and "Traceback" not in result.stderr, (command,
                                                                                 result.stderr)
