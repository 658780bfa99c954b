"""ComputeThread (one worker thread for MLX) and activate_blas (in fresh interpreters)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import pytest

from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread


def test_runs_everything_on_one_thread():
    compute = ComputeThread()
    try:
        idents = {compute.call(threading.get_ident) for _ in range(5)}

        async def main():
            return await asyncio.gather(*(compute.run(threading.get_ident) for _ in range(5)))

        idents |= set(asyncio.run(main()))
        assert len(idents) == 1 and threading.get_ident() not in idents
        # A call made from the compute thread runs inline instead of deadlocking.
        assert compute.call(lambda: compute.call(lambda: compute.on_thread))
    finally:
        compute.close()
        compute.close()


def test_exceptions_propagate():
    compute = ComputeThread()

    def fail():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        compute.call(fail)
    with pytest.raises(ValueError, match="boom"):
        asyncio.run(compute.run(fail))
    compute.close()


def _python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    return result.stdout.strip() + "\n" + result.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="BLAS loading is Linux-only")
def test_activate_blas():
    disabled = _python("from mlx_serve.adapters.mlx.runtime.blas import activate_blas;"
                       "print(activate_blas('none'))")
    assert disabled.startswith(
        "reference BLAS (optimised BLAS disabled by MLX_SERVE_BLAS_LIBRARY=none)"
    )
    late = _python("import mlx.core; from mlx_serve.adapters.mlx.runtime.blas import activate_blas;"
                   "print(activate_blas(None))")
    assert late.startswith("unchanged") and "too late" not in late and "WARNING" in late
    found = _python("from mlx_serve.adapters.mlx.runtime.blas import activate_blas;"
                    "print(activate_blas(None))")
    assert "BLAS" in found
