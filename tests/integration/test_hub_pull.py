"""Pulls from the Hugging Face Hub stand-in (tools/fake_hub.py) through the real CLI.

The real ``huggingface_hub`` client inside ``mlx-serve pull`` talks to the stand-in through
``HF_ENDPOINT``; every test gets its own MLX_SERVE_HOME, so stores never share state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.hub_checkpoints import (
    build_cross_encoder,
    build_embedding,
    build_without_weights,
)
from tests.support.server import REPO_ROOT, isolated_env, run_cli
from tools.fake_hub import FakeHub

EMBED = "test-org/tiny-embed"
RERANK = "test-org/tiny-rerank"
GATED = "test-org/tiny-gated"
NO_WEIGHTS = "test-org/no-weights"
TOKEN = "hf_test_token"
UNWANTED = ("pytorch_model.bin", "model.onnx", "README.md")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hub-checkpoints")
    with FakeHub() as hub:
        # Two commits of the embedding repo: the first tagged v1, the second on main.
        hub.v1 = hub.add_repo(EMBED, build_embedding(root / "embed-v1", seed=7), tags=("v1",))
        hub.main = hub.add_repo(EMBED, build_embedding(root / "embed"))
        hub.add_repo(RERANK, build_cross_encoder(root / "rerank"))
        hub.add_repo(GATED, root / "embed", gated=True, token=TOKEN)
        hub.add_repo(NO_WEIGHTS, build_without_weights(root / "no-weights"))
        yield hub


@pytest.fixture
def env(tmp_path: Path, hub: FakeHub) -> dict[str, str]:
    hub.faults.__init__()  # no fault carries over from another test
    hub.requests.clear()
    return isolated_env(tmp_path, {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"})


def models_dir(env: dict[str, str]) -> Path:
    return Path(env["MLX_SERVE_HOME"]) / "models"


def listed(env: dict[str, str]) -> list[str]:
    result = run_cli(["list", "--json"], env)
    assert result.returncode == 0, result.stderr
    return sorted(m["name"] for m in json.loads(result.stdout))


def metadata(env: dict[str, str], name: str) -> dict:
    return json.loads((models_dir(env) / name / "mlx-serve.json").read_text())


def pull_ok(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = run_cli(["pull", *args], env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def pull_error(env: dict[str, str], *args: str) -> str:
    result = run_cli(["pull", *args], env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


def downloaded(hub: FakeHub) -> set[str]:
    return {path.rsplit("/", 1)[-1] for m, path, _, _ in hub.requests
            if m == "GET" and "/resolve/" in path}


def test_pull_embedding_model(env, hub):
    result = pull_ok(env, EMBED)
    assert "pulled 'tiny-embed' (embedding" in result.stdout
    # Plain progress lines off a terminal, one per file, with sizes.
    assert "pulling model.safetensors" in result.stderr and "\r" not in result.stderr
    info = metadata(env, "tiny-embed")
    assert info["source"] == EMBED and info["revision"] == hub.main
    assert info["type"] == "embedding" and info["dimensions"] == 64
    assert listed(env) == ["tiny-embed"]
    # Only what the model needs was fetched, and the download is not kept beside the model.
    assert not downloaded(hub) & set(UNWANTED)
    assert {"model.safetensors", "tokenizer.json", "modules.json"} <= downloaded(hub)
    assert not (models_dir(env) / ".downloads" / "test-org--tiny-embed").exists()


def test_pull_reranker_keeping_the_original(env, hub):
    pull_ok(env, RERANK, "--type", "reranker", "--keep-original")
    info = metadata(env, "tiny-rerank")
    assert info["type"] == "reranker"
    assert (models_dir(env) / "tiny-rerank" / "original" / "model.safetensors").is_file()


def test_pinned_revision_records_its_commit(env, hub):
    pull_ok(env, EMBED, "--revision", "v1", "--name", "tiny-v1")
    assert metadata(env, "tiny-v1")["revision"] == hub.v1
    pull_error_text = pull_error(env, EMBED, "--revision", "no-such-branch", "--name", "x")
    assert "revision 'no-such-branch' not found" in pull_error_text


def test_503s_clear_after_retries(env, hub):
    hub.faults.fail_next = 3
    pull_ok(env, EMBED)
    assert hub.count(status=503) == 3
    assert listed(env) == ["tiny-embed"]


def test_connection_cut_mid_file_resumes(env, hub):
    hub.faults.cut_after_bytes = 100_000
    pull_ok(env, EMBED)
    ranges = [rng for m, path, status, rng in hub.requests
              if path.endswith("model.safetensors") and status == 206]
    assert ranges == ["bytes=100000-"]
    assert listed(env) == ["tiny-embed"]


def test_unknown_repo_is_a_clear_404(env):
    assert "repository 'test-org/nope' not found" in pull_error(env, "test-org/nope")
    assert listed(env) == []


def test_gated_repo_needs_a_token(env):
    message = pull_error(env, GATED)
    assert "gated repository" in message and "HF_TOKEN" in message
    pull_ok({**env, "HF_TOKEN": TOKEN}, GATED)
    assert listed(env) == ["tiny-gated"]


def test_repo_without_usable_weights(env, hub):
    assert "no safetensors weights" in pull_error(env, NO_WEIGHTS)
    assert not downloaded(hub)  # refused from the listing, before any download
    assert listed(env) == []


def test_sigkill_mid_download_leaves_nothing_and_next_pull_resumes(env, hub):
    hub.faults.throttle_bytes_per_second = 40_000
    process = subprocess.Popen(
        [sys.executable, "-m", "mlx_serve", "pull", EMBED],
        env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    partial = models_dir(env) / ".downloads" / "test-org--tiny-embed" / (
        "model.safetensors.incomplete")
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if partial.exists() and partial.stat().st_size >= 60_000:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the pull ended before it could be killed"
        assert partial.exists(), "the download never started"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    kept = partial.stat().st_size
    assert listed(env) == []
    hub.faults.throttle_bytes_per_second = None
    hub.requests.clear()
    pull_ok(env, EMBED)
    assert listed(env) == ["tiny-embed"]
    resumed = [rng for m, path, status, rng in hub.requests
               if path.endswith("model.safetensors") and m == "GET"]
    assert len(resumed) == 1 and resumed[0] is not None
    assert resumed[0] == f"bytes={kept}-"
    staging = models_dir(env) / ".staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_two_concurrent_pulls_share_one_download(env, hub):
    hub.faults.throttle_bytes_per_second = 30_000  # ~11 s: both start while it runs
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "mlx_serve", "pull", EMBED], env=env, cwd=REPO_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    weights = [path for m, path, _, _ in hub.requests
               if m == "GET" and path.endswith("/model.safetensors")]
    assert len(weights) == 1
    assert listed(env) == ["tiny-embed"]
