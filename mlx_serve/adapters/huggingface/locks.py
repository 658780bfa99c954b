"""A download directory shared by every pull of one repo, across threads and processes.

Two ``flock`` lock files beside the directory:

- ``<dir>.users.lock``: every pull holds it *shared* from the start of its fetch until its
  conversion is done. Deleting the directory needs it *exclusive* without waiting, so the
  files are deleted only by the last pull out, never under a pull still reading them;
- ``<dir>.download.lock``: held *exclusive* while downloading, so one pull downloads while
  the others wait, then find the files complete and convert from the same copy.

flock locks belong to the open file, so two pulls in one process exclude each other as two
processes do, and the kernel drops the locks of a process that dies (even by SIGKILL):
nothing is ever left locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


class DownloadLock:
    """The locks of one download directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._users_path = directory.with_name(directory.name + ".users.lock")
        self._download_path = directory.with_name(directory.name + ".download.lock")
        self._users_fd: int | None = None

    def acquire(self) -> None:
        """Register as a user of the directory (waits only while a last user deletes it)."""
        self._users_path.parent.mkdir(parents=True, exist_ok=True)
        self._users_fd = _open(self._users_path)
        fcntl.flock(self._users_fd, fcntl.LOCK_SH)

    @contextlib.contextmanager
    def downloading(self) -> Iterator[None]:
        """Be the only pull writing into the directory for the duration of the block."""
        fd = _open(self._download_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the lock

    def release(self, *, delete: bool) -> None:
        """Stop using the directory; with ``delete``, remove it if no other pull uses it."""
        if self._users_fd is None:
            return
        try:
            if delete:
                try:
                    fcntl.flock(self._users_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass  # another pull still reads the files: the last one out deletes them
                else:
                    shutil.rmtree(self.directory, ignore_errors=True)
        finally:
            os.close(self._users_fd)
            self._users_fd = None


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
