"""ModelStore on a local directory: one subdirectory per model plus a metadata file.

Layout::

    <models_dir>/<name>/mlx-serve.json     what makes a directory an installed model
    <models_dir>/.staging/<name>-<pid>-<random>/   models being built (never listed)
    <models_dir>/.trash/<name>-<pid>-<random>/     models being deleted (never listed)

Every change is a rename within one filesystem, so a reader sees either the old model or the
new one, never a half-written or half-deleted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import shutil
import time
from pathlib import Path

from mlx_serve.adapters.store import housekeeping
from mlx_serve.domain.errors import ModelAlreadyExists, ModelNotFound
from mlx_serve.domain.models import ModelInfo
from mlx_serve.domain.names import validate_model_name

METADATA_FILE = "mlx-serve.json"
ORIGINAL_DIR = "original"
# rename() fails with these when the target exists (a non-empty directory, or a file).
_TARGET_EXISTS = {errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR}


_SETTLED_NS = 2_000_000_000  # a directory unchanged this long is trusted to be cached


class FilesystemModelStore:
    """Installed models under ``models_dir`` (created on first write)."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = Path(models_dir)
        self._staging_root = self.models_dir / housekeeping.STAGING_DIR
        self._trash_root = self.models_dir / housekeeping.TRASH_DIR
        self._cleaned = False
        self._listing: tuple[int, list[ModelInfo]] | None = None  # (directory mtime, models)

    def clean_stale(self) -> list[Path]:
        """Delete staging and trash entries left by dead processes; call at startup."""
        self._cleaned = True
        return housekeeping.clean_stale(self.models_dir)

    def list(self) -> list[ModelInfo]:
        """Every fully installed model, sorted by name; hidden and broken entries are skipped.

        Requests resolve names through this on the event loop, so the listing is cached until
        the models directory changes: every install and removal is a rename in it, which
        moves its modification time. Filesystem timestamps are coarse (a few milliseconds), so
        a directory changed in the last seconds is always read again.
        """
        try:
            stamp = self.models_dir.stat().st_mtime_ns
        except OSError:
            return []
        cached = self._listing
        settled = time.time_ns() - stamp > _SETTLED_NS
        if cached is not None and cached[0] == stamp and settled:
            return list(cached[1])
        if not self.models_dir.is_dir():
            return []
        models = []
        for entry in self.models_dir.iterdir():
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            info = self._read(entry)
            if info is not None:
                models.append(info)
        listing = sorted(models, key=lambda info: info.name)
        self._listing = (stamp, listing) if settled else None
        return list(listing)

    def get(self, name: str) -> ModelInfo:
        """The model called exactly ``name``; raises ModelNotFound / InvalidModelName."""
        validate_model_name(name)
        info = self._read(self.models_dir / name)
        if info is None:
            raise ModelNotFound(name)
        return info

    def staging_directory(self, name: str) -> Path:
        """A fresh, empty directory under ``.staging`` to build model ``name`` in."""
        validate_model_name(name)
        if not self._cleaned:
            self.clean_stale()
        self._staging_root.mkdir(parents=True, exist_ok=True)
        path = self._staging_root / housekeeping.scratch_name(name)
        path.mkdir()
        return path

    def include_original(self, staging: Path, checkpoint: Path) -> None:
        """Copy the original checkpoint's files into ``<staging>/original/``.

        Hard links where the filesystem allows (a Hugging Face cache on the same disk), since
        checkpoint files are never modified in place; copies otherwise.
        """
        self._check_staging(staging)

        def link_or_copy(src: str, dst: str) -> None:
            try:
                os.link(os.path.realpath(src), dst)
            except OSError:
                shutil.copy2(src, dst)

        shutil.copytree(checkpoint, staging / ORIGINAL_DIR, copy_function=link_or_copy)

    def commit(self, staging: Path, info: ModelInfo, *, replace: bool = False) -> ModelInfo:
        """Publish ``staging`` as model ``info.name``; returns the info as recorded.

        ``size_bytes`` is measured here, on the files actually published. Raises
        ModelAlreadyExists when the name is taken and ``replace`` is false.
        """
        validate_model_name(info.name)
        self._check_staging(staging)
        target = self.models_dir / info.name
        info = dataclasses.replace(
            info, size_bytes=housekeeping.directory_size(staging), path=target
        )
        self._write_metadata(staging, info)
        try:
            os.rename(staging, target)
            return info
        except OSError as exc:
            if exc.errno not in _TARGET_EXISTS:
                raise
        if not replace:
            raise ModelAlreadyExists(
                f"model '{info.name}' is already installed (pull with --force, or "
                '"force": true over HTTP, to replace it)'
            )
        self._replace(staging, target)
        return info

    def remove(self, name: str) -> None:
        """Delete model ``name``: renamed into ``.trash`` first, so it vanishes at once."""
        self.get(name)  # validates the name and that it is an installed model
        self._trash_root.mkdir(parents=True, exist_ok=True)
        trash = self._trash_root / housekeeping.scratch_name(name)
        try:
            os.rename(self.models_dir / name, trash)
        except FileNotFoundError:
            raise ModelNotFound(name) from None  # removed by someone else meanwhile
        housekeeping.delete_tree(trash)

    def discard(self, staging: Path) -> None:
        """Delete a staging directory that will not be committed."""
        self._check_staging(staging)
        housekeeping.delete_tree(staging)

    def _replace(self, staging: Path, target: Path) -> None:
        self._trash_root.mkdir(parents=True, exist_ok=True)
        trash = self._trash_root / housekeeping.scratch_name(target.name)
        os.rename(target, trash)
        try:
            os.rename(staging, target)
        except OSError:
            # Put the old model back rather than leave the name empty.
            with contextlib.suppress(OSError):
                os.rename(trash, target)
            raise
        housekeeping.delete_tree(trash)

    def _check_staging(self, staging: Path) -> None:
        # Only ever delete or publish what this store staged: a wrong path must not turn a
        # rename or rmtree loose on the rest of the disk.
        if Path(staging).parent.resolve() != self._staging_root.resolve():
            raise ValueError(f"{staging} is not a staging directory of {self.models_dir}")

    @staticmethod
    def _write_metadata(directory: Path, info: ModelInfo) -> None:
        tmp = directory / (METADATA_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(info.to_dict(), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, directory / METADATA_FILE)

    @staticmethod
    def _read(directory: Path) -> ModelInfo | None:
        """The metadata of ``directory``, or None when it is not a readable model."""
        try:
            data = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
            info = ModelInfo.from_dict(data, path=directory)
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if info.name.casefold() != directory.name.casefold():
            # A directory renamed by hand: its directory name is what addresses it.
            info = dataclasses.replace(info, name=directory.name)
        return info
