"""Scratch directories of the store (staging and trash) and the cleanup of stale ones.

Every scratch entry is named ``<name>-<pid>-<random>``: the pid of the process that made it
lets a later process tell an abandoned entry (its owner died, say killed mid-pull) from one
that another live process is still filling, which must not be touched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from pathlib import Path

STAGING_DIR = ".staging"
TRASH_DIR = ".trash"
# An entry this old is abandoned even when its pid is alive again (pids get reused).
STALE_AFTER_SECONDS = 24 * 3600


def scratch_name(name: str) -> str:
    """A fresh, unique entry name for ``name``, carrying our pid."""
    return f"{name}-{os.getpid()}-{secrets.token_hex(4)}"


def owner_pid(entry_name: str) -> int | None:
    """The pid recorded in a scratch entry name, or None when it has none."""
    parts = entry_name.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1])


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def is_stale(entry: Path, *, now: float | None = None) -> bool:
    """Whether a scratch entry was abandoned: its owner is dead or it is very old."""
    pid = owner_pid(entry.name)
    if pid is None or not pid_alive(pid):
        return True
    try:
        age = (now if now is not None else time.time()) - entry.lstat().st_mtime
    except FileNotFoundError:
        return False  # someone else removed it meanwhile
    return age > STALE_AFTER_SECONDS


def delete_tree(path: Path) -> None:
    """Delete a file or directory tree; a path that is already gone is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_stale(models_dir: Path) -> list[Path]:
    """Delete abandoned staging and trash entries under ``models_dir``; return what went.

    A models directory this process cannot write (a read-only volume shared by replicas) is
    left alone: whoever pulls into it owns its cleanup.
    """
    removed: list[Path] = []
    if not os.access(models_dir, os.W_OK):
        return removed
    for scratch in (models_dir / STAGING_DIR, models_dir / TRASH_DIR):
        if not scratch.is_dir():
            continue
        for entry in scratch.iterdir():
            if is_stale(entry):
                delete_tree(entry)
                removed.append(entry)
    return removed


def directory_size(path: Path) -> int:
    """Bytes of every regular file under ``path`` (symlinks not followed)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for file in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, file)).st_size
    return total
