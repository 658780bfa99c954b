"""Stateless serving over a models directory shared by replicas (a volume, NFS).

- Serving never writes to the models directory: listing, showing, loading, unloading and
  reloading models leaves every entry under it as it was (inode, size, mtime).
- A models directory the server cannot write (a read-only volume) is not cleaned at start,
  even when it holds staging leftovers another host's puller owns.
- A pull in another process never lets a server list or load a half-written model: the
  store builds in ``.staging`` and renames into place, so a model appears whole or not at all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest

from tests.support.replicas import MINILM, shared_models_dir, start_replica, tree_snapshot
from tests.support.server import REPO_ROOT, isolated_env

# How long the other process may take to publish its copies (seconds; seconds when idle).
WRITER_DEADLINE_SECONDS = 300

pytestmark = pytest.mark.slow

TEXT = "Replicas read one models directory."
COPIES = 3


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return shared_models_dir(tmp_path_factory.mktemp("shared"))


def embed(client: httpx.Client, model: str, *, keep_alive: float | None = None) -> httpx.Response:
    body: dict = {"model": model, "input": [TEXT]}
    if keep_alive is not None:
        body["keep_alive"] = keep_alive
    return client.post("/api/embed", json=body)


def test_serving_leaves_the_models_directory_untouched(models, tmp_path):
    before = tree_snapshot(models)
    server = start_replica(tmp_path / "replica", models)
    try:
        with httpx.Client(base_url=server.base_url, timeout=120) as client:
            assert client.get("/v1/models").status_code == 200
            assert client.get("/api/tags").status_code == 200
            assert client.post("/api/show", json={"model": MINILM}).status_code == 200
            assert embed(client, MINILM).status_code == 200
            # keep_alive 0 unloads after the request, so the next one loads from disk again.
            assert embed(client, MINILM, keep_alive=0).status_code == 200
            assert embed(client, MINILM).status_code == 200
            assert client.get("/health").status_code == 200
    finally:
        assert server.stop() == 0, server.log_tail()
    assert tree_snapshot(models) == before


@pytest.fixture
def immutable(models):
    """Make ``models`` unwritable even for root (chattr +i), as a read-only volume is."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    marked = []

    def mark(path):
        result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"this filesystem has no immutable flag: {result.stderr.strip()}")
        marked.append(path)

    yield mark
    for path in reversed(marked):
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_models_directory_is_not_cleaned(models, immutable, tmp_path):
    # A staging entry of a pull running on another host: its pid means nothing here.
    foreign = models / ".staging" / "some-model-999999999-0a1b2c3d"
    foreign.mkdir(parents=True)
    (foreign / "model.safetensors").write_bytes(b"half written")
    try:
        immutable(models)
        before = tree_snapshot(models)
        server = start_replica(tmp_path / "replica", models)
        try:
            with httpx.Client(base_url=server.base_url, timeout=120) as client:
                assert embed(client, MINILM).status_code == 200
        finally:
            assert server.stop() == 0, server.log_tail()
        assert foreign.is_dir()
        assert tree_snapshot(models) == before
    finally:
        subprocess.run(["chattr", "-i", str(models)], check=False)
        shutil.rmtree(models / ".staging")


def test_a_pull_in_another_process_is_never_seen_half_written(models, tmp_path):
    server = start_replica(tmp_path / "replica", models)
    writer = None
    try:
        with httpx.Client(base_url=server.base_url, timeout=120) as client:
            expected = np.array(embed(client, MINILM).json()["embeddings"][0])
            writer = subprocess.Popen(
                [sys.executable, "-m", "tests.support.slow_store_writer",
                 str(models), MINILM, str(COPIES)],
                cwd=REPO_ROOT, env=isolated_env(tmp_path / "writer"),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            copies = {f"{MINILM}-copy-{i}" for i in range(COPIES)}
            verified: set[str] = set()
            # Bounded by time, not rounds: on a loaded machine the writer takes far longer than
            # a fixed number of quick listings lasts. Every round lists and loads what is new.
            deadline = time.monotonic() + WRITER_DEADLINE_SECONDS
            while time.monotonic() < deadline:
                names = {model["id"] for model in client.get("/v1/models").json()["data"]}
                assert names <= copies | {MINILM}, f"a half-built entry was listed: {names}"
                for name in sorted(names & copies - verified):
                    # keep_alive 0: loaded from disk now, unloaded right after.
                    response = embed(client, name, keep_alive=0)
                    assert response.status_code == 200, response.text
                    vector = np.array(response.json()["embeddings"][0])
                    np.testing.assert_allclose(vector, expected, atol=1e-6)
                    verified.add(name)
                if writer.poll() is not None and verified == copies:
                    break
                time.sleep(0.05)
            output = writer.communicate(timeout=120)[0]
            assert writer.returncode == 0, output
            assert verified == copies
    finally:
        if writer is not None and writer.poll() is None:
            writer.kill()
            writer.wait(timeout=10)
        assert server.stop() == 0, server.log_tail()
        for index in range(COPIES):
            shutil.rmtree(models / f"{MINILM}-copy-{index}", ignore_errors=True)
