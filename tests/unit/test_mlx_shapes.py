"""Bucketed GPU batch shapes and rerank chunks (pure Python, no MLX)."""

from __future__ import annotations

from mlx_serve.adapters.mlx.rerank.engine import chunk_pairs
from mlx_serve.adapters.mlx.runtime.batching import plan_batches
from mlx_serve.adapters.mlx.runtime.shapes import (
    bucket_length,
    bucket_rows,
    bucketed_batches,
    full_rows,
    warm_up_shapes,
)


def test_lengths_round_up_to_the_ladder_but_never_past_the_model_maximum():
    assert [bucket_length(n, 512) for n in (1, 16, 17, 65, 129, 500)] == [16, 16, 32, 96, 192,
                                                                          512]
    assert bucket_length(200, 256) == 256
    assert bucket_length(300, 256) == 300  # longer than the maximum (ids): left as is
    assert [bucket_rows(n) for n in (1, 2, 3, 5, 64, 65)] == [1, 2, 4, 8, 64, 128]


def test_every_bucketed_batch_is_a_warmed_shape_under_the_budget():
    lengths = [3, 5, 17, 17, 40, 90, 90, 130, 200, 256] * 37
    budget, max_length = 4096, 256
    warmed = set(warm_up_shapes(max_length, budget))
    batches = bucketed_batches(plan_batches(lengths, budget), max_length, budget)
    assert sorted(i for b in batches for i in b.indices) == list(range(len(lengths)))
    for batch in batches:
        assert all(lengths[i] <= batch.length for i in batch.indices)
        shape = (bucket_rows(len(batch.indices)), batch.length)
        assert shape in warmed
        assert shape[0] * shape[1] <= budget


def test_warm_up_shapes_are_cheapest_first_and_bounded():
    shapes = warm_up_shapes(512, 16384)
    costs = [rows * length for rows, length in shapes]
    assert costs == sorted(costs)
    assert len(shapes) == len(set(shapes)) < 100
    assert full_rows(48, 16384) == 256


def test_rerank_chunks_are_length_sorted_and_bounded():
    lengths = [50, 10, 300, 20, 40, 1000, 30]
    chunks = chunk_pairs(lengths, 100)
    assert sorted(i for c in chunks for i in c) == list(range(len(lengths)))
    flat = [lengths[i] for c in chunks for i in c]
    assert flat == sorted(flat)
    for chunk in chunks:
        assert len(chunk) == 1 or sum(lengths[i] for i in chunk) <= 100
