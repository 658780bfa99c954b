"""Free-space checks and full-disk errors of pulls."""

from __future__ import annotations

import errno

import pytest

from mlx_serve.application.disk_space import (
    check_free_space,
    disk_full_error,
    free_bytes,
    human_size,
    is_disk_full,
)
from mlx_serve.domain.errors import PullError


def test_full_disk_is_recognised_through_wrapping():
    full = OSError(errno.ENOSPC, "No space left on device")
    try:
        try:
            raise full
        except OSError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as wrapped:
        assert is_disk_full(wrapped)
    assert is_disk_full(OSError(errno.EFBIG, "File too large"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("x"))


def test_human_size():
    assert human_size(512) == "512 B"
    assert human_size(1536) == "1.5 KiB"
    assert human_size(2**50) == "1.0 PiB"


def test_check_free_space_names_the_sizes_not_the_path(tmp_path):
    missing = tmp_path / "not" / "yet"
    assert free_bytes(missing) > 0  # measured on the nearest existing parent
    check_free_space(missing, download=1, converted=1, source="org/small")
    with pytest.raises(PullError) as err:
        check_free_space(missing, download=2**60, converted=2**59, source="org/huge")
    assert err.value.status == 507
    assert "org/huge" in err.value.message and "EiB" not in err.value.message
    assert "PiB" in err.value.message and str(tmp_path) not in err.value.message


def test_disk_full_error(tmp_path):
    error = disk_full_error("org/x", "downloading", tmp_path)
    assert error.status == 507 and "free now" in error.message
    assert str(tmp_path) not in error.message
