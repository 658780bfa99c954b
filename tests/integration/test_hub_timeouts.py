"""A pull against a network that accepts connections and never answers fails in bounded time:
every request of a pull has a connect and read timeout, retried with backoff, then a clear
error (it used to hang at `pulling manifest` for as long as the network stayed silent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_serve.adapters.huggingface import Backoff, HuggingFaceRepository
from mlx_serve.adapters.huggingface.download import RemoteFile, download
from mlx_serve.domain.errors import PullError
from tests.support.server import isolated_env, run_cli
from tests.support.silent_listener import SilentListener

TIMEOUT = 0.3


@pytest.fixture
def silent():
    with SilentListener() as listener:
        yield listener


def test_metadata_call_times_out_is_retried_then_fails_clearly(tmp_path, silent):
    repository = HuggingFaceRepository(
        tmp_path / "downloads", endpoint=silent.url, cache_dir=tmp_path / "hf",
        backoff=Backoff(attempts=3, base=0.01, maximum=0.02), timeout=TIMEOUT,
    )
    with pytest.raises(PullError) as caught:
        repository.fetch("test-org/tiny", None, lambda _event: None)
    message = caught.value.message
    assert message.startswith(f"reading 'test-org/tiny' from {silent.url} failed after 3 attempts")
    assert "connected, but no answer came within the timeout" in message
    assert "MLX_SERVE_HUB_TIMEOUT_SECONDS" in message
    assert silent.accepted == 3  # one connection per attempt, each given up on


def test_file_download_has_a_read_timeout(tmp_path, silent):
    import httpx2

    remote = RemoteFile(path="model.safetensors", size=10, sha256=None, blob_id="b")
    with pytest.raises(httpx2.ReadTimeout):  # transient: the repository's backoff retries it
        download(
            "test-org/tiny", "0" * 40, remote, tmp_path,
            endpoint=silent.url, token=False, report=lambda done, total: None,
            cache_dir=tmp_path / "hf", timeout=TIMEOUT,
        )
    assert silent.accepted == 1


def test_cli_pull_against_a_silent_hub_ends_with_one_clear_line(tmp_path, silent):
    env = isolated_env(tmp_path, {
        "HF_ENDPOINT": silent.url, "HF_HUB_OFFLINE": "0", "MLX_SERVE_HUB_TIMEOUT_SECONDS": "0.2",
    })
    # The default backoff (6 attempts, 0.5 s doubling) bounds this at about 17 s.
    result = run_cli(["pull", "test-org/tiny"], env, timeout=120)
    assert result.returncode == 1, (result.stdout, result.stderr)
    (line,) = [ln for ln in result.stderr.splitlines() if "mlx-serve: error:" in ln]
    assert "failed after 6 attempts" in line and "no answer came within the timeout" in line
    # Six metadata attempts (huggingface_hub may add its own best-effort registry request,
    # which it bounds at 3 s itself).
    assert silent.accepted >= 6
    assert not list(Path(env["MLX_SERVE_HOME"]).glob("models/*/mlx-serve.json"))
