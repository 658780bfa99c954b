"""Whether MLX's CPU backend can build its compiled kernels here.

On Linux, ``mx.compile`` on the CPU writes C++ and builds it with ``g++`` (MLX runs
``g++ --version`` to decide; the name is fixed in MLX). Without it MLX silently runs the
uncompiled graphs, measured 1.47x slower per request for the fused activations mlx-serve uses
(see fast_ops), and nothing says why. The server warns once at start instead.
"""

from __future__ import annotations

import os
import shutil
import sys

COMPILER = "g++"  # what MLX's JIT invokes on Linux, looked up on PATH
FIX = (
    "install a C++ compiler so it is on PATH as `g++` (Debian/Ubuntu: `apt-get install g++`; "
    "Fedora: `dnf install gcc-c++`) and restart the server"
)


def missing_compiler_warning(device: str, path: str | None = None) -> str | None:
    """The warning to log when models run on the CPU and MLX finds no compiler, else None.

    ``device`` is the MLX device models run on (``cpu`` or ``gpu``); ``path`` overrides PATH
    (tests). macOS needs no compiler (Metal kernels, Accelerate); ``MLX_DISABLE_COMPILE``
    turns compilation off on purpose.
    """
    if sys.platform == "darwin" or device != "cpu" or os.environ.get("MLX_DISABLE_COMPILE"):
        return None
    if shutil.which(COMPILER, path=path) is not None:
        return None
    return (
        f"no C++ compiler (`{COMPILER}`) on PATH: MLX's CPU backend cannot build its compiled "
        f"kernels and runs requests about 1.5x slower; {FIX}"
    )
