"""MLX's memory limit and buffer-cache limit: applied once at start, reported on /health.

MLX keeps freed buffers in a cache for reuse. Without a bound it grows towards the memory
limit: on an H200 the allocator held 134-138 GB of 143 GB within seconds of the first
Qwen3 requests, while the weights and one batch's activations need a few GB. The defaults
here keep what is cached small on a GPU (``GPU_CACHE_LIMIT``: measured on an H200, the
cache then stayed at 4 GiB and Qwen3-0.6B peaked at 15 GB under load at the default batch
budget). On a CPU MLX's own default (32 MiB) stays: a 512 MiB cache, meant to reuse a
batch's temporaries instead of faulting them in, measured no faster (4.9 vs 3.9 texts/s,
MiniLM, budget 1024, interleaved on a loaded 2-core machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GPU_CACHE_LIMIT = 4 * 2**30  # a few batches' activations of a 0.6B model; weights are not cached


@dataclass(frozen=True)
class MemoryLimits:
    """The limits in force (bytes); ``None`` in a setting means "the device's default"."""

    memory_limit_bytes: int
    cache_limit_bytes: int


def apply_limits(memory_limit: int | None, cache_limit: int | None, on_gpu: bool
                 ) -> MemoryLimits:
    """Set MLX's limits (call once, before models load); returns what is in force.

    ``memory_limit``: None keeps MLX's (about the device's memory). ``cache_limit``: None
    picks GPU_CACHE_LIMIT on a GPU (never above the memory limit) and keeps MLX's on a CPU.
    """
    import mlx.core as mx

    if memory_limit is not None:
        mx.set_memory_limit(memory_limit)
    limit = mx.get_memory_limit()
    if cache_limit is None and on_gpu:
        cache_limit = min(GPU_CACHE_LIMIT, limit)
    if cache_limit is None:
        cache_limit = mx.set_cache_limit(0)  # read MLX's default...
    mx.set_cache_limit(cache_limit)  # ...and put it (or the chosen one) in force
    return MemoryLimits(memory_limit_bytes=limit, cache_limit_bytes=cache_limit)


def memory_report(limits: MemoryLimits) -> dict[str, Any]:
    """What MLX's allocator holds now (bytes): in use by arrays, peak, cached, and limits.

    Reads counters only (no evaluation), so it is safe from any thread.
    """
    import mlx.core as mx

    return {
        "active_bytes": int(mx.get_active_memory()),
        "peak_bytes": int(mx.get_peak_memory()),
        "cache_bytes": int(mx.get_cache_memory()),
        "memory_limit_bytes": limits.memory_limit_bytes,
        "cache_limit_bytes": limits.cache_limit_bytes,
    }
