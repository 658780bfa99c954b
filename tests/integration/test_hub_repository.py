"""HuggingFaceRepository in-process against the Hub stand-in: files, progress, cache, locks.

No MLX here: these check what lands on disk and what went over the wire.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from huggingface_hub import snapshot_download

from mlx_serve.adapters.huggingface import Backoff, HuggingFaceRepository
from mlx_serve.domain.errors import PullError
from mlx_serve.domain.ports import PullProgress
from tests.support.hub_checkpoints import build_embedding
from tools.fake_hub import FakeHub

REPO = "test-org/tiny-embed"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_embedding(tmp_path_factory.mktemp("ckpt") / "embed")


@pytest.fixture
def hub(checkpoint: Path):
    with FakeHub() as hub:
        hub.sha = hub.add_repo(REPO, checkpoint)
        yield hub


def repository(tmp_path: Path, hub: FakeHub, **kwargs) -> HuggingFaceRepository:
    return HuggingFaceRepository(
        tmp_path / "downloads", endpoint=hub.url, cache_dir=tmp_path / "hf-cache",
        backoff=Backoff(attempts=4, base=0.01, maximum=0.05), **kwargs,
    )


def weight_gets(hub: FakeHub) -> int:
    return sum(1 for m, p, _, _ in hub.requests if m == "GET" and p.endswith(".safetensors"))


def test_fetch_reports_byte_progress_and_cleanup_deletes(tmp_path, hub, checkpoint):
    events: list[PullProgress] = []
    fetched = repository(tmp_path, hub).fetch(REPO, None, events.append)
    assert fetched.revision == hub.sha and fetched.source == REPO
    assert (fetched.directory / "model.safetensors").read_bytes() == (
        checkpoint / "model.safetensors").read_bytes()
    assert not (fetched.directory / "pytorch_model.bin").exists()
    weights = [e for e in events if e.file == "model.safetensors"]
    assert weights[-1].completed == weights[-1].total == (checkpoint / "model.safetensors"
                                                          ).stat().st_size
    assert all(e.status == "pulling model.safetensors" for e in weights)
    fetched.cleanup()
    assert not fetched.directory.exists()


def test_exhausted_retries_are_a_final_error(tmp_path, hub):
    hub.faults.fail_next = 100
    with pytest.raises(PullError, match="after 4 attempts") as info:
        repository(tmp_path, hub).fetch(REPO, None, lambda e: None)
    assert info.value.status == 502
    assert hub.count(status=503) == 4


def test_files_in_the_hf_cache_are_not_downloaded_again(tmp_path, hub):
    snapshot_download(REPO, endpoint=hub.url, cache_dir=tmp_path / "hf-cache")
    hub.requests.clear()
    fetched = repository(tmp_path, hub).fetch(REPO, None, lambda e: None)
    assert (fetched.directory / "model.safetensors").is_file()
    assert weight_gets(hub) == 0


def test_offline_mode_reads_the_hf_cache_and_never_deletes_it(tmp_path, hub):
    offline = repository(tmp_path, hub, offline=True)
    with pytest.raises(PullError, match="offline mode"):
        offline.fetch(REPO, None, lambda e: None)
    snapshot_download(REPO, endpoint=hub.url, cache_dir=tmp_path / "hf-cache")
    hub.requests.clear()
    fetched = offline.fetch(REPO, None, lambda e: None)
    assert fetched.revision == hub.sha and fetched.cleanup is None
    assert (fetched.directory / "model.safetensors").is_file()
    assert hub.requests == []


def test_two_pulls_in_one_process_share_the_download(tmp_path, hub):
    hub.faults.throttle_bytes_per_second = 200_000
    repo = repository(tmp_path, hub)
    results: list = []

    def fetch() -> None:
        results.append(repo.fetch(REPO, None, lambda e: None))

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2 and weight_gets(hub) == 1
    results[0].cleanup()
    assert results[1].directory.is_dir()  # still in use by the other pull: kept
    results[1].cleanup()
    assert not results[1].directory.exists()  # the last one out deletes it


def test_a_partial_download_of_another_commit_is_discarded(tmp_path, hub):
    directory = tmp_path / "downloads" / "test-org--tiny-embed"
    directory.mkdir(parents=True)
    (directory / ".mlx-serve-download.json").write_text('{"commit": "%s"}' % ("0" * 40))
    stale = directory / "model.safetensors.incomplete"
    stale.write_bytes(b"bytes of an older commit")
    fetched = repository(tmp_path, hub).fetch(REPO, None, lambda e: None)
    assert fetched.directory == directory and not stale.exists()
    ranged = [rng for m, p, _, rng in hub.requests if p.endswith(".safetensors")]
    assert ranged == [None]  # started over, not resumed from the stale bytes
