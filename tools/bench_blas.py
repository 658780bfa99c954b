"""Which BLAS makes MLX's CPU matmuls fast: GFLOP/s per library, side by side (no assertions).

Usage: .venv/bin/python -m tools.bench_blas [LIBRARY ...] [--seconds S]
Each library (a path or soname, or `none` for MLX's reference BLAS) runs in a fresh
interpreter, loaded the way the server loads it (``activate_blas`` before ``mlx.core``).
Environment variables pass through, so `OPENBLAS_CORETYPE=Haswell` or
`MKL_ENABLE_INSTRUCTIONS=AVX2` show how a library does on a CPU without AVX-512.
Default: `none`, the library mlx-serve finds by itself, and `libmkl_rt` of this environment
when `pip install mkl` put one there.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

# A BERT-base-sized product: (batch x tokens, hidden) @ (hidden, 4 x hidden), float32.
RUN = """
import sys, time
from mlx_serve.adapters.mlx.runtime.blas import activate_blas
name = activate_blas(sys.argv[1] if sys.argv[1] != "auto" else None)
import mlx.core as mx
mx.set_default_device(mx.cpu)
a, b = mx.random.normal((2048, 384)), mx.random.normal((384, 1536))
mx.eval(a @ b)
runs, start = 0, time.perf_counter()
while time.perf_counter() - start < float(sys.argv[2]):
    mx.eval(a @ b)
    runs += 1
seconds = (time.perf_counter() - start) / runs
print(f"{2 * 2048 * 384 * 1536 / seconds / 1e9:8.1f} GFLOP/s  {name}")
"""


def default_libraries() -> list[str]:
    found = ["none", "auto"]
    found += [str(p) for p in sorted(Path(sys.prefix, "lib").glob("libmkl_rt.so*"))[:1]]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("libraries", nargs="*", help="paths or sonames; none; auto")
    parser.add_argument("--seconds", type=float, default=3.0, help="per library")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    for library in args.libraries or default_libraries():
        result = subprocess.run(
            [sys.executable, "-c", RUN, library, str(args.seconds)],
            cwd=root, capture_output=True, text=True, timeout=300, check=False,
        )
        line = result.stdout.strip() or f"failed ({result.returncode}): {result.stderr[-300:]}"
        print(f"{library:<50} {line}", flush=True)


if __name__ == "__main__":
    main()
