"""Bucketed batch shapes, so a GPU sees a bounded set of distinct (rows, length) shapes.

MLX builds (JIT-compiles) kernels for shapes it has not seen; on an H200 the first pass over
a mixed corpus after each start took 22-28 s of building. Padding every batch up to a bucket
(lengths on a 1-1.5-2 ladder, rows to a power of two) bounds the shapes to a few dozen, which
``warm_up_shapes`` lists so a load (or ``--preload``) can build them before the first request.
On the CPU kernels do not depend on the shape, and padding is pure waste: no buckets there.
"""

from __future__ import annotations

from mlx_serve.adapters.mlx.runtime.batching import Batch

# 16, 32, 48, 64, then x1.5 / x2 steps: at most ~33 % padding past 64 tokens.
_LADDER = (16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
           6144, 8192, 12288, 16384, 24576, 32768)


def bucket_length(length: int, cap: int) -> int:
    """The padded length for a batch whose longest row is ``length`` (never above ``cap``,
    the model's maximum, unless ``length`` itself is)."""
    for step in _LADDER:
        if step >= length:
            return max(length, min(step, cap))
    return length


def bucket_rows(rows: int) -> int:
    """The padded row count: the next power of two."""
    return 1 << max(0, rows - 1).bit_length()


def full_rows(length: int, max_batch_tokens: int) -> int:
    """The most rows a bucketed batch of ``length`` may hold: a power of two under the budget."""
    fit = max(1, max_batch_tokens // length)
    return 1 << (fit.bit_length() - 1)


def warm_up_shapes(max_length: int, max_batch_tokens: int) -> list[tuple[int, int]]:
    """Every bucketed (rows, length) shape a batch can take, up to the model's maximum length,
    cheapest first (a load warms them in this order, within a time bound)."""
    shapes: list[tuple[int, int]] = []
    for step in _LADDER:
        length = min(step, max_length)
        rows = 1
        while rows <= full_rows(length, max_batch_tokens):
            shapes.append((rows, length))
            rows *= 2
        if step >= max_length:
            break
    return sorted(shapes, key=lambda shape: shape[0] * shape[1])


def bucketed_batches(batches: list[Batch], max_length: int, max_batch_tokens: int
                     ) -> list[Batch]:
    """``batches`` with bucketed lengths, split so that no batch holds more rows than
    ``full_rows`` of its bucket (then its padded row count stays a warmed shape)."""
    result: list[Batch] = []
    for batch in batches:
        length = bucket_length(batch.length, max_length)
        cap = full_rows(length, max_batch_tokens)
        for start in range(0, len(batch.indices), cap):
            result.append(Batch(batch.indices[start: start + cap], length))
    return result
