"""Download one file of a Hub repo into a directory, resuming what an earlier attempt left.

The bytes go to ``<path>.incomplete`` beside the final name and are appended as they arrive,
so a download cut off (a dropped connection, a retry, the process killed with SIGKILL)
continues from where it stopped with ``Range: bytes=N-``. A finished file is checked against
the Hub's listing (size, and sha256 for LFS files) before it is renamed into place, so a
file with its final name is always complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import constants, hf_hub_url, try_to_load_from_cache
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from mlx_serve.adapters.huggingface.retry import CorruptDownload

INCOMPLETE_SUFFIX = ".incomplete"
# Report progress at most this often, so a fast download does not flood an NDJSON stream.
_REPORT_EVERY_SECONDS = 0.1


@dataclass(frozen=True)
class RemoteFile:
    """A file as the Hub lists it at one commit."""

    path: str
    size: int | None
    sha256: str | None  # LFS files only
    blob_id: str | None

    @property
    def digest(self) -> str:
        """The digest shown in progress lines (Ollama's ``sha256:<hex>`` where known)."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        return f"sha1:{self.blob_id}" if self.blob_id else f"file:{self.path}"


# Called with (bytes completed, bytes total or None).
ByteProgress = Callable[[int, int | None], None]


def is_complete(directory: Path, remote: RemoteFile) -> bool:
    """Whether ``remote`` already lies finished in ``directory`` (verified when it landed)."""
    target = directory / remote.path
    return target.is_file() and (remote.size is None or target.stat().st_size == remote.size)


def download(
    repo_id: str,
    commit: str,
    remote: RemoteFile,
    directory: Path,
    *,
    endpoint: str | None,
    token: str | bool | None,
    report: ByteProgress,
    cache_dir: Path | None = None,
    timeout: float | None = None,
) -> Path:
    """Fetch ``remote`` at ``commit`` into ``directory``; one attempt (the caller retries)."""
    target = directory / remote.path
    if is_complete(directory, remote):
        report(target.stat().st_size, remote.size)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + INCOMPLETE_SUFFIX)
    if _copy_from_hf_cache(repo_id, commit, remote, partial, cache_dir):
        report(remote.size or 0, remote.size)
    else:
        _fetch_bytes(repo_id, commit, remote, partial, endpoint, token, report, timeout)
    _verify(remote, partial)
    os.replace(partial, target)
    return target


def _fetch_bytes(
    repo_id: str,
    commit: str,
    remote: RemoteFile,
    partial: Path,
    endpoint: str | None,
    token: str | bool | None,
    report: ByteProgress,
    timeout: float | None,
) -> None:
    url = hf_hub_url(repo_id, remote.path, revision=commit, endpoint=endpoint)
    headers = build_hf_headers(token=token)
    # The real size matters for resume offsets: ask for the bytes uncompressed.
    headers["Accept-Encoding"] = "identity"
    done = partial.stat().st_size if partial.exists() else 0
    if remote.size is not None and done > remote.size:
        partial.unlink()  # longer than the file: not a prefix of it
        done = 0
    if remote.size is not None and done == remote.size:
        return
    if done:
        headers["Range"] = f"bytes={done}-"
    with get_session().stream(
        "GET", url, headers=headers, timeout=timeout or constants.HF_HUB_DOWNLOAD_TIMEOUT
    ) as response:
        hf_raise_for_status(response)
        if done and response.status_code != 206:
            done = 0  # the server ignored the Range: start over
        report(done, remote.size)
        last = time.monotonic()
        with open(partial, "ab" if done else "wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
                done += len(chunk)
                now = time.monotonic()
                if now - last >= _REPORT_EVERY_SECONDS:
                    handle.flush()  # keep what was reported on disk for a resume
                    report(done, remote.size)
                    last = now
    report(done, remote.size)


def _copy_from_hf_cache(
    repo_id: str, commit: str, remote: RemoteFile, partial: Path, cache_dir: Path | None
) -> bool:
    """Take the file from the local Hugging Face cache (``HF_HOME``) when it is there."""
    cached = try_to_load_from_cache(repo_id, remote.path, cache_dir=cache_dir, revision=commit)
    if not isinstance(cached, str):
        return False
    source = os.path.realpath(cached)
    partial.unlink(missing_ok=True)
    try:
        os.link(source, partial)  # same filesystem: no second copy on disk
    except OSError:
        shutil.copyfile(source, partial)
    return True


def _verify(remote: RemoteFile, partial: Path) -> None:
    size = partial.stat().st_size
    if remote.size is not None and size != remote.size:
        partial.unlink(missing_ok=True)
        raise CorruptDownload(f"{remote.path}: got {size} bytes, expected {remote.size}")
    if remote.sha256:
        digest = hashlib.sha256()
        with open(partial, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != remote.sha256:
            partial.unlink(missing_ok=True)
            raise CorruptDownload(f"{remote.path}: sha256 mismatch")
