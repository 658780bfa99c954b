"""Defaults that depend on the device, resolved when the container is built.

The queued-token bound is about 30 s of work at the throughput measured on each kind of
device (README "Performance"): all-MiniLM-L6-v2 on a 2-core CPU serves ~2-3 k tokens/s,
so 65,536 tokens; an H200 serves Qwen3-Embedding-0.6B at ~300 k tokens/s and MiniLM at
millions, so 1,048,576 tokens (a few seconds) keeps latency low there.
"""

from __future__ import annotations

QUEUED_TOKENS_BY_DEVICE = {"cpu": 65_536, "gpu": 1_048_576}


def queued_token_bound(configured: int | None, device: str) -> int:
    """``MLX_SERVE_MAX_QUEUED_TOKENS`` when set, else the default of the device models use."""
    if configured is not None:
        return configured
    import mlx.core as mx

    from mlx_serve.adapters.mlx.runtime.placement import Runtime

    kind = "cpu" if Runtime(device=device).mlx_device() == mx.cpu else "gpu"  # type: ignore[arg-type]
    return QUEUED_TOKENS_BY_DEVICE[kind]
