"""Load an optimised BLAS for MLX's Linux CPU backend before ``mlx.core`` is imported.

The ``mlx[cpu]`` wheel links the reference (netlib) BLAS, about 30x slower on matmuls than
OpenBLAS/MKL. Loading an optimised library with ``RTLD_GLOBAL`` before MLX's shared object is
loaded makes MLX's ``sgemm`` symbols resolve to it (the same effect as ``LD_PRELOAD``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path

from loguru import logger

ENV_VARIABLE = "MLX_SERVE_BLAS_LIBRARY"
_FIX = (
    "install an optimised BLAS (`apt-get install libopenblas0-pthread`, or without root "
    "`pip install mkl` into this environment), or point the MLX_SERVE_BLAS_LIBRARY "
    "environment variable (config.yaml key `blas_library`) at one"
)
_LIB_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
)
_active: str | None = None


def _candidates() -> list[str]:
    """Paths or sonames to try, in order of preference."""
    found: list[str] = []
    for directory in _LIB_DIRS:
        for name in ("libopenblas.so.0", "openblas-pthread/libopenblas.so.0"):
            if (Path(directory) / name).exists():
                found.append(str(Path(directory) / name))
    soname = ctypes.util.find_library("openblas")
    if soname:
        found.append(soname)
    # PyPI `mkl` installs libmkl_rt into <prefix>/lib of the environment.
    for prefix in {sys.prefix, sys.base_prefix}:
        for path in sorted(Path(prefix, "lib").glob("libmkl_rt.so*")):
            found.append(str(path))
    soname = ctypes.util.find_library("mkl_rt")
    if soname:
        found.append(soname)
    return found


THREADS_VARIABLE = "MLX_SERVE_BLAS_THREADS"
# MLX's CPU backend runs one op at a time on one thread; between its matmuls OpenBLAS's
# pthread workers spin-wait for the next one and take the core MLX's element-wise work needs
# (a third of a loaded server's CPU was sched_yield). Measured on all-MiniLM-L6-v2, 2-core
# EPYC, interleaved in one process: 1 BLAS thread 6.4 texts/s, 2 threads 3.8.
DEFAULT_THREADS = 1


def _load(path: str, threads: int | None = None) -> str | None:
    """None when ``path`` loaded (and its thread count was set); otherwise the loader's reason."""
    try:
        library = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError as error:
        logger.debug("cannot load BLAS {}: {}", path, error)
        return str(error)
    _set_threads(library, threads)
    return None


def active_blas() -> str | None:
    """What ``activate_blas`` chose (None before it ran): the server names it at start."""
    return _active


def _set_threads(library: ctypes.CDLL, threads: int | None) -> None:
    """Apply ``threads`` (else ``$MLX_SERVE_BLAS_THREADS``, else DEFAULT_THREADS; 0 leaves
    the library's own choice) through OpenBLAS's or MKL's own call, whichever it has."""
    if threads is None:
        try:
            threads = int(os.environ.get(THREADS_VARIABLE) or DEFAULT_THREADS)
        except ValueError:
            logger.warning("{} must be an integer; using {}", THREADS_VARIABLE,
                           DEFAULT_THREADS)
            threads = DEFAULT_THREADS
    if threads <= 0:
        return
    for name in ("openblas_set_num_threads", "MKL_Set_Num_Threads"):
        setter = getattr(library, name, None)
        if setter is not None:
            setter(threads)
            logger.debug("BLAS threads: {}", threads)
            return


def activate_blas(library: str | None = None, threads: int | None = None) -> str:
    """Load an optimised BLAS globally so MLX's CPU matmuls use it; returns a description.

    ``library``: a path or soname to load; ``"none"`` disables; ``None`` consults
    ``$MLX_SERVE_BLAS_LIBRARY`` and then searches for Debian's ``libopenblas.so.0`` and
    ``libmkl_rt``. A no-op on macOS (MLX uses Accelerate there). Idempotent: a second call
    returns the first result. Must run before ``mlx.core`` is imported; after, it only warns.
    Never raises: a missing library is logged as a warning naming the fix. ``threads``:
    the BLAS's thread count (see DEFAULT_THREADS; 0 keeps the library's default).
    """
    global _active
    if _active is not None:
        return _active
    if sys.platform == "darwin":
        _active = "Accelerate (macOS)"
        return _active
    if "mlx.core" in sys.modules:
        logger.warning(
            "mlx.core was imported before the BLAS could be chosen; MLX keeps the BLAS it "
            "already resolved (call activate_blas earlier)"
        )
        _active = "unchanged (mlx.core already imported)"
        return _active
    library = library or os.environ.get(ENV_VARIABLE) or None
    # The choice is logged at INFO by the server's start line (active_blas); here only at
    # DEBUG, so that line is the one a person reads.
    if library is not None and library.lower() == "none":
        _active = f"reference BLAS (optimised BLAS disabled by {ENV_VARIABLE}=none)"
        logger.debug("BLAS: {}", _active)
        return _active
    if library is not None:
        reason = _load(library, threads)
        if reason is None:
            _active = f"{library} (chosen by {ENV_VARIABLE})"
            logger.debug("BLAS: {}", _active)
            return _active
        logger.warning(
            "BLAS library {} ({}) cannot be loaded: {}; searching for another",
            library, ENV_VARIABLE, reason,
        )
    for candidate in _candidates():
        if _load(candidate, threads) is None:
            _active = candidate
            logger.debug("BLAS: {}", candidate)
            return _active
    _active = "reference BLAS"
    logger.warning("BLAS: only the reference BLAS was found; MLX CPU matmuls will be ~30x "
                   "slower: {}", _FIX)
    return _active
