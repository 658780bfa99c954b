"""Free disk space for pulls: checked before downloading, and a full disk named as such.

A pull into a full models directory used to fail with a bare 500 and leave its partial
download behind, so the next (small) pull failed too. Now a pull that cannot fit is refused
before anything is written (507 with the sizes), and one that fills the disk anyway removes
what it wrote and says so (507). Messages name the models directory, never its absolute path.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from mlx_serve.domain.errors import PullError

# Out of space, over quota, or past the largest file the process may write (RLIMIT_FSIZE).
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
INSUFFICIENT_STORAGE = 507
# Room left beside a pull for metadata, logs and rounding in the size estimate.
HEADROOM_BYTES = 64 * 1024 * 1024


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is a full disk."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_FULL_ERRNOS:
            return True
        current = current.__cause__ or current.__context__
    return False


def human_size(size: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def free_bytes(directory: Path) -> int:
    """Free bytes on the filesystem of ``directory`` (or of its nearest existing parent)."""
    path = Path(directory)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def check_free_space(directory: Path, *, download: int, converted: int, source: str) -> None:
    """PullError 507 with the sizes when ``download`` + ``converted`` bytes cannot fit."""
    needed = download + converted + HEADROOM_BYTES
    free = free_bytes(directory)
    if needed > free:
        raise PullError(
            f"not enough free disk space to pull '{source}': it needs about "
            f"{human_size(needed)} ({human_size(download)} to download, about "
            f"{human_size(converted)} for the converted model, {human_size(HEADROOM_BYTES)} "
            f"to spare) and the models directory has {human_size(free)} free",
            status=INSUFFICIENT_STORAGE,
        )


def disk_full_error(source: str, stage: str, directory: Path) -> PullError:
    """The 507 for a pull of ``source`` that filled the disk while ``stage`` (cleaned up)."""
    try:
        free = f"{human_size(free_bytes(directory))} free now"
    except OSError:
        free = "free space unknown"
    return PullError(
        f"the disk filled up while {stage} '{source}' ({free} in the models directory); "
        "what the pull wrote was removed. Free some space and pull again",
        status=INSUFFICIENT_STORAGE,
    )
