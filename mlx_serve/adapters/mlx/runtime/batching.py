"""Length-sorted batching under a token budget (pure Python, no MLX).

Padding is wasted compute: inputs are sorted by length so each batch holds similar lengths,
and batches are cut so ``rows * longest_row <= max_batch_tokens`` (a bound on the padded
tensor, hence on memory), not by a fixed count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Batch:
    """Indices (into the caller's list) of one batch and its padded length."""

    indices: tuple[int, ...]
    length: int

    @property
    def padded_tokens(self) -> int:
        return len(self.indices) * self.length


def plan_batches(lengths: Sequence[int], max_batch_tokens: int) -> list[Batch]:
    """Group inputs of the given token lengths into batches, shortest first.

    Every index appears in exactly one batch. A single input longer than the budget gets a
    batch of its own (it must still be served). Sorting is stable, so equal lengths keep
    request order. Raises ValueError when ``max_batch_tokens`` < 1.
    """
    if max_batch_tokens < 1:
        raise ValueError("max_batch_tokens must be at least 1")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[Batch] = []
    current: list[int] = []
    longest = 0
    for index in order:
        length = max(1, lengths[index])
        # Sorted ascending, so the new input is the longest of the batch once added.
        if current and (len(current) + 1) * length > max_batch_tokens:
            batches.append(Batch(tuple(current), longest))
            current, longest = [], 0
        current.append(index)
        longest = length
    if current:
        batches.append(Batch(tuple(current), longest))
    return batches


def pad_rows(
    rows: Sequence[Sequence[int]], length: int, pad_id: int, *, left: bool
) -> tuple[list[list[int]], list[list[int]]]:
    """Pad token rows to ``length``; returns (ids, attention mask with 1 on real tokens).

    ``left`` pads at the start (decoder models pooled on the last position).
    """
    ids: list[list[int]] = []
    mask: list[list[int]] = []
    for row in rows:
        pad = length - len(row)
        if pad < 0:
            raise ValueError("row longer than the padded length")
        if left:
            ids.append([pad_id] * pad + list(row))
            mask.append([0] * pad + [1] * len(row))
        else:
            ids.append(list(row) + [pad_id] * pad)
            mask.append([1] * len(row) + [0] * pad)
    return ids, mask
