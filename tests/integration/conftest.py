"""Fixtures the in-process MLX tests share (the root conftest has already chosen the BLAS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread


@pytest.fixture(scope="module")
def compute() -> Iterator[ComputeThread]:
    """One MLX compute thread per test module, as the server has one per process."""
    thread = ComputeThread()
    yield thread
    thread.close()
