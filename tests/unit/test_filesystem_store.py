"""FilesystemModelStore and LocalDirectoryRepository on temporary directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlx_serve.adapters.store import (
    METADATA_FILE,
    FilesystemModelStore,
    LocalDirectoryRepository,
    housekeeping,
)
from mlx_serve.domain.errors import InvalidModelName, ModelAlreadyExists, ModelNotFound, PullError
from tests.fakes.store import make_info

BAD_NAMES = ["../x", "a/b", "..", ".hidden", "x\x00y", "new\nline", "", "a\\b"]


def stage(store: FilesystemModelStore, name: str, payload: bytes = b"weights") -> Path:
    staging = store.staging_directory(name)
    (staging / "model.safetensors").write_bytes(payload)
    return staging


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_commit_publishes_atomically_with_metadata_and_measured_size(tmp_path):
    store = FilesystemModelStore(tmp_path / "models")
    assert store.list() == []
    staging = stage(store, "m", b"x" * 100)
    assert store.list() == []  # staging is never listed
    info = store.commit(staging, make_info("m", size_bytes=0))
    assert not staging.exists()
    assert info.path == tmp_path / "models" / "m" and info.size_bytes == 100
    data = json.loads((info.path / METADATA_FILE).read_text())
    assert data["name"] == "m" and data["type"] == "embedding" and "path" not in data
    assert store.list() == [info] and store.get("m") == info


def test_commit_over_an_installed_model_needs_replace(tmp_path):
    store = FilesystemModelStore(tmp_path)
    store.commit(stage(store, "m", b"old"), make_info("m", source="old"))
    staging = stage(store, "m", b"new")
    with pytest.raises(ModelAlreadyExists):
        store.commit(staging, make_info("m", source="new"))
    assert store.get("m").source == "old"
    store.commit(staging, make_info("m", source="new"), replace=True)
    assert store.get("m").source == "new"
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == b"new"
    assert list((tmp_path / housekeeping.TRASH_DIR).iterdir()) == []


def test_remove_renames_away_then_deletes(tmp_path):
    store = FilesystemModelStore(tmp_path)
    store.commit(stage(store, "m"), make_info("m"))
    store.remove("m")
    assert store.list() == [] and not (tmp_path / "m").exists()
    assert list((tmp_path / housekeeping.TRASH_DIR).iterdir()) == []
    with pytest.raises(ModelNotFound):
        store.remove("m")


def test_list_skips_hidden_broken_and_foreign_entries(tmp_path):
    store = FilesystemModelStore(tmp_path)
    store.commit(stage(store, "b"), make_info("b"))
    store.commit(stage(store, "a"), make_info("a"))
    (tmp_path / "no-metadata").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / METADATA_FILE).write_text("{not json")
    (tmp_path / "stray-file").write_text("x")
    (tmp_path / ".trash" / "c-1-x").mkdir(parents=True)
    assert [m.name for m in store.list()] == ["a", "b"]
    with pytest.raises(ModelNotFound):
        store.get("broken")


@pytest.mark.parametrize("name", BAD_NAMES)
def test_every_operation_validates_names(tmp_path, name):
    store = FilesystemModelStore(tmp_path / "models")
    with pytest.raises(InvalidModelName):
        store.get(name)
    with pytest.raises(InvalidModelName):
        store.remove(name)
    with pytest.raises(InvalidModelName):
        store.staging_directory(name)
    staging = store.staging_directory("ok")
    with pytest.raises(InvalidModelName):
        store.commit(staging, make_info(name))
    assert list(tmp_path.glob("**/mlx-serve.json")) == []


def test_discard_and_commit_refuse_paths_outside_staging(tmp_path):
    store = FilesystemModelStore(tmp_path / "models")
    victim = tmp_path / "victim"
    victim.mkdir()
    with pytest.raises(ValueError):
        store.discard(victim)
    with pytest.raises(ValueError):
        store.commit(victim, make_info("m"))
    assert victim.is_dir()


def test_include_original_copies_the_checkpoint(tmp_path):
    checkpoint = tmp_path / "ckpt"
    (checkpoint / "sub").mkdir(parents=True)
    (checkpoint / "config.json").write_text("{}")
    (checkpoint / "sub" / "f").write_text("f")
    store = FilesystemModelStore(tmp_path / "models")
    staging = stage(store, "m")
    store.include_original(staging, checkpoint)
    info = store.commit(staging, make_info("m"))
    assert (info.path / "original" / "sub" / "f").read_text() == "f"


def test_stale_scratch_of_dead_processes_is_cleaned_and_live_ones_are_kept(tmp_path):
    store = FilesystemModelStore(tmp_path)
    dead = tmp_path / ".staging" / f"m-{dead_pid()}-abcd"
    live = tmp_path / ".staging" / f"m-{os.getppid()}-abcd"
    old_live = tmp_path / ".staging" / f"m-{os.getppid()}-ef01"
    trash = tmp_path / ".trash" / f"m-{dead_pid()}-abcd"
    unnamed = tmp_path / ".staging" / "whatever"
    for path in (dead, live, old_live, trash, unnamed):
        (path / "sub").mkdir(parents=True)
    os.utime(old_live, (0, 0))
    # A later pull of the same name is not tripped by the leftovers, and cleans them.
    store.commit(stage(store, "m"), make_info("m"))
    assert [p.name for p in (tmp_path / ".staging").iterdir()] == [live.name]
    assert list((tmp_path / ".trash").iterdir()) == []
    assert [m.name for m in store.list()] == ["m"]


def test_local_repository_handles_directories_and_validates_them(tmp_path):
    repository = LocalDirectoryRepository()
    assert not repository.handles(str(tmp_path / "missing"))
    assert not repository.handles("org/model")
    assert not repository.handles("bad\x00")
    assert repository.handles(str(tmp_path))
    with pytest.raises(PullError, match=r"config\.json and weights"):
        repository.fetch(str(tmp_path), None, lambda _e: None)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(PullError, match="weights"):
        repository.fetch(str(tmp_path), None, lambda _e: None)
    (tmp_path / "model.safetensors").write_bytes(b"")
    fetched = repository.fetch(str(tmp_path / "."), "ignored", lambda _e: None)
    assert fetched.directory == tmp_path.resolve()
    assert fetched.source == str(tmp_path.resolve()) and fetched.revision is None


def test_listing_is_cached_until_the_directory_changes(tmp_path):
    store = FilesystemModelStore(tmp_path / "models")
    first = store.commit(stage(store, "a"), make_info("a"))
    assert [m.name for m in store.list()] == ["a"]  # just changed: read, not cached
    old = 1_000_000_000  # make the directory look settled (unchanged for a long time)
    os.utime(store.models_dir, (old, old))
    assert [m.name for m in store.list()] == ["a"]
    # An edit that is not an install or removal (no rename in the directory) is not seen...
    meta = json.loads((first.path / METADATA_FILE).read_text())
    (first.path / METADATA_FILE).write_text(json.dumps({**meta, "dimensions": 7}))
    assert store.list()[0].dimensions == first.dimensions
    # ...but every install and removal is.
    store.commit(stage(store, "b"), make_info("b"))
    assert [m.name for m in store.list()] == ["a", "b"]
    store.remove("a")
    assert [m.name for m in store.list()] == ["b"]
