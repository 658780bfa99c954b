"""Length-sorted batching under a token budget (pure Python)."""

from __future__ import annotations

import pytest

from mlx_serve.adapters.mlx.runtime.batching import pad_rows, plan_batches


def test_every_index_once_and_budget_respected():
    lengths = [5, 100, 3, 40, 40, 7, 250, 1, 64, 9]
    batches = plan_batches(lengths, max_batch_tokens=128)
    seen = sorted(i for b in batches for i in b.indices)
    assert seen == list(range(len(lengths)))
    for batch in batches:
        assert batch.length == max(lengths[i] for i in batch.indices)
        assert batch.padded_tokens <= 128 or len(batch.indices) == 1


def test_sorted_ascending_and_stable_for_equal_lengths():
    lengths = [4, 2, 4, 2, 4]
    batches = plan_batches(lengths, max_batch_tokens=1000)
    assert batches == [batches[0]]
    assert batches[0].indices == (1, 3, 0, 2, 4)


def test_input_over_budget_gets_its_own_batch():
    batches = plan_batches([10, 500, 10], max_batch_tokens=64)
    assert [b.indices for b in batches] == [(0, 2), (1,)]


def test_empty_and_invalid_budget():
    assert plan_batches([], 10) == []
    with pytest.raises(ValueError):
        plan_batches([1], 0)


def test_pad_rows_right_and_left():
    ids, mask = pad_rows([[1, 2], [3]], 3, 0, left=False)
    assert ids == [[1, 2, 0], [3, 0, 0]]
    assert mask == [[1, 1, 0], [1, 0, 0]]
    ids, mask = pad_rows([[1, 2], [3]], 3, 9, left=True)
    assert ids == [[9, 1, 2], [9, 9, 3]]
    assert mask == [[0, 1, 1], [0, 0, 1]]
    with pytest.raises(ValueError):
        pad_rows([[1, 2, 3]], 2, 0, left=False)
