"""ModelRepository for Hugging Face Hub repo ids (``org/name``), through ``huggingface_hub``.

``huggingface_hub`` reads ``HF_ENDPOINT``, ``HF_TOKEN``, ``HF_HOME`` and ``HF_HUB_OFFLINE``
itself; this adapter only passes explicit values on when it was given some (tests).

Where the files land: ``<downloads_dir>/<org>--<name>/`` (``downloads_dir`` is hidden inside
the models directory, so it is on the same filesystem as the store and never listed). The
directory survives a failed or killed pull, so the next pull resumes it; it is deleted once
the model is converted (``FetchedCheckpoint.cleanup``), so the original checkpoint is not
kept on disk beside the converted model unless the catalog copies it (``--keep-original``).
In offline mode the checkpoint is read straight from the Hugging Face cache, which is the
user's and is never deleted.
"""

from __future__ import annotations

import json
import shutil
from contextlib import suppress
from pathlib import Path
from typing import NoReturn

from huggingface_hub import HfApi, constants, snapshot_download
from huggingface_hub.errors import (
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
)
from huggingface_hub.utils import validate_repo_id
from loguru import logger

from mlx_serve.adapters.huggingface import files
from mlx_serve.adapters.huggingface.download import INCOMPLETE_SUFFIX, RemoteFile, download
from mlx_serve.adapters.huggingface.locks import DownloadLock
from mlx_serve.adapters.huggingface.retry import Backoff, final_error
from mlx_serve.application.disk_space import check_free_space, disk_full_error, is_disk_full
from mlx_serve.domain.errors import InvalidModelName, PullError
from mlx_serve.domain.names import validate_model_reference
from mlx_serve.domain.ports import FetchedCheckpoint, ProgressCallback, PullProgress

MARKER = ".mlx-serve-download.json"


class HuggingFaceRepository:
    """Fetches checkpoints from the Hub (or a stand-in at ``HF_ENDPOINT``)."""

    accepts = (
        "a valid Hugging Face repo id (owner/name, each made of letters, digits, '-', '_' "
        "and '.')"
    )

    def __init__(
        self,
        downloads_dir: Path,
        *,
        endpoint: str | None = None,
        token: str | None = None,
        offline: bool | None = None,
        cache_dir: Path | None = None,
        backoff: Backoff | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.downloads_dir = Path(downloads_dir)
        self._endpoint = endpoint
        self._token = token  # None: huggingface_hub reads HF_TOKEN / its token file
        self._offline = offline
        self._cache_dir = cache_dir  # None: the Hugging Face cache under HF_HOME
        self._backoff = backoff or Backoff()
        # Seconds to connect and between bytes, for every request of a pull: huggingface_hub
        # leaves metadata calls without one, so a silent network would hang a pull for ever.
        self._timeout = timeout

    @property
    def endpoint(self) -> str:
        return self._endpoint or constants.ENDPOINT

    def handles(self, source: str) -> bool:
        """Whether ``source`` looks like a repo id: ``org/name``, each part a safe name."""
        if not isinstance(source, str) or source.count("/") != 1:
            return False
        try:
            validate_model_reference(source)
            validate_repo_id(source)  # the Hub's own rules: "~/llm" is a path, not a repo
        except (InvalidModelName, HFValidationError):
            return False
        return True

    def fetch(
        self, source: str, revision: str | None, progress: ProgressCallback
    ) -> FetchedCheckpoint:
        """Download the files the model needs; see the module docstring for where they go."""
        offline = constants.is_offline_mode() if self._offline is None else self._offline
        if offline:
            return self._from_cache(source, revision)
        try:
            commit, remote_files = self._listing(source, revision)
        except Exception as exc:
            _raise_final(exc, source, revision, self.endpoint)
        directory = self.downloads_dir / source.replace("/", "--")
        # Before anything is written: the download still missing, and the converted copy.
        check_free_space(
            self.downloads_dir,
            download=_still_missing(remote_files, directory),
            converted=sum(f.size or 0 for f in remote_files if f.path.endswith(".safetensors")),
            source=source,
        )
        lock = DownloadLock(directory)
        lock.acquire()
        try:
            with lock.downloading():
                self._download_all(source, commit, remote_files, directory, progress)
        except BaseException as exc:
            # Keep what arrived, so the next pull resumes it; unless the disk is full, where
            # the partial files would make the next pull (of anything) fail too.
            full = is_disk_full(exc)
            lock.release(delete=full)
            if full:
                raise disk_full_error(source, "downloading", self.downloads_dir) from exc
            if isinstance(exc, Exception):
                _raise_final(exc, source, revision, self.endpoint)
            raise
        return FetchedCheckpoint(
            directory=directory,
            source=source,
            revision=commit,
            cleanup=lambda: lock.release(delete=True),
        )

    def _listing(self, repo_id: str, revision: str | None) -> tuple[str, list[RemoteFile]]:
        """The commit ``revision`` resolves to and the wanted files at it."""
        api = HfApi(endpoint=self._endpoint, token=self._token)
        info = self._backoff.call(
            f"reading '{repo_id}' from {self.endpoint}",
            lambda: api.model_info(
                repo_id, revision=revision, files_metadata=True, timeout=self._timeout
            ),
        )
        if not info.sha:
            raise PullError(f"the Hub gave no commit for '{repo_id}'", status=502)
        remote = [
            RemoteFile(
                path=s.rfilename,
                size=s.size,
                sha256=s.lfs.sha256 if s.lfs else None,
                blob_id=s.blob_id,
            )
            for s in info.siblings or []
            if files.wanted(s.rfilename)
        ]
        if not files.has_weights([f.path for f in remote]):
            raise PullError(
                f"'{repo_id}' has no safetensors weights; mlx-serve converts safetensors "
                "checkpoints only (PyTorch .bin, ONNX and GGUF files are not used)",
                status=422,
            )
        return info.sha, remote

    def _download_all(
        self,
        repo_id: str,
        commit: str,
        remote_files: list[RemoteFile],
        directory: Path,
        progress: ProgressCallback,
    ) -> None:
        _prepare(directory, repo_id, commit)
        for remote in remote_files:
            status = f"pulling {remote.path}"

            def report(done: int, total: int | None, remote: RemoteFile = remote,
                       status: str = status) -> None:
                progress(PullProgress(status, remote.path, remote.digest, total, done))

            self._backoff.call(
                f"downloading {remote.path} of '{repo_id}'",
                lambda remote=remote, report=report: download(
                    repo_id, commit, remote, directory,
                    endpoint=self._endpoint, token=self._token, cache_dir=self._cache_dir,
                    report=report, timeout=self._timeout,
                ),
            )

    def _from_cache(self, repo_id: str, revision: str | None) -> FetchedCheckpoint:
        """Offline: the snapshot already in the Hugging Face cache (``HF_HOME``)."""
        try:
            path = snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=list(files.ALLOW_PATTERNS),
                ignore_patterns=list(files.DENY_PATTERNS),
                local_files_only=True,
                cache_dir=self._cache_dir,
            )
        except (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError, OSError) as exc:
            raise PullError(
                f"offline mode (HF_HUB_OFFLINE) is on and '{repo_id}' is not in the Hugging "
                f"Face cache ({self._cache_dir or constants.HF_HUB_CACHE})",
                status=404,
            ) from exc
        snapshot = Path(path)
        if not any(snapshot.rglob("*.safetensors")):
            raise PullError(f"the cached '{repo_id}' has no safetensors weights", status=422)
        return FetchedCheckpoint(directory=snapshot, source=repo_id, revision=snapshot.name)


def _still_missing(remote_files: list[RemoteFile], directory: Path) -> int:
    """Bytes of ``remote_files`` not yet in ``directory`` (finished or partial)."""
    missing = 0
    for remote in remote_files:
        if remote.size is None:
            continue
        target = directory / remote.path
        partial = target.with_name(target.name + INCOMPLETE_SUFFIX)
        have = 0
        for candidate in (target, partial):
            with suppress(OSError):
                have = max(have, candidate.stat().st_size)
        missing += max(0, remote.size - have)
    return missing


def _raise_final(exc: Exception, repo_id: str, revision: str | None, endpoint: str) -> NoReturn:
    """Re-raise ``exc`` as the PullError a person can act on (as it is when none applies)."""
    error = final_error(exc, repo_id, revision, endpoint)
    if error is exc:
        raise exc
    raise error from exc


def _prepare(directory: Path, repo_id: str, commit: str) -> None:
    """Start clean unless the directory holds an earlier download of the same commit.

    Called with the download lock held, so no other pull is writing there.
    """
    marker = directory / MARKER
    try:
        same = json.loads(marker.read_text())["commit"] == commit
    except (OSError, ValueError, KeyError, TypeError):
        same = False
    if not same and directory.exists():
        # Partial files of another commit are not prefixes of this one's: start over. (Two
        # pulls of different revisions of one repo at once are not supported.)
        logger.info("discarding an earlier download of {} (another revision)", repo_id)
        shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"repo_id": repo_id, "commit": commit}))
