"""Comparing rankings the way the rerank contract defines them.

A served ranking is right when it orders every pair of documents as the reference does, except
where the reference itself cannot tell them apart: two reference scores closer than the score
tolerance are a tie, and either order of the pair is right (float noise, BLAS thread counts and
library versions decide such near-ties, not the model). Exact ties among served scores must go by
index ascending, the documented rule.
"""

from __future__ import annotations

from collections.abc import Sequence


def ranking(scores: Sequence[float]) -> list[int]:
    """Indices by score descending, ties by index ascending (the served order)."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def misordered_pairs(
    served: Sequence[float], reference: Sequence[float], tolerance: float
) -> list[tuple[int, int]]:
    """Pairs (a, b) the served ranking puts a before b while the reference clearly prefers b.

    "Clearly" means the reference scores b above a by more than ``tolerance``.
    """
    order = ranking(served)
    return [
        (a, b)
        for position, a in enumerate(order)
        for b in order[position + 1:]
        if reference[b] - reference[a] > tolerance
    ]


def assert_same_ranking(
    served: Sequence[float], reference: Sequence[float], tolerance: float
) -> None:
    """Fail when the served order contradicts the reference beyond ``tolerance``."""
    assert len(served) == len(reference)
    wrong = misordered_pairs(served, reference, tolerance)
    assert not wrong, (
        f"served ranking {ranking(served)} contradicts reference ranking {ranking(reference)} "
        f"on pairs {wrong[:5]} (reference scores differ by more than {tolerance})"
    )


def assert_ordered_by_contract(results: Sequence[dict]) -> None:
    """Rerank results sorted by relevance_score descending, exact ties by index ascending."""
    keys = [(-r["relevance_score"], r["index"]) for r in results]
    assert keys == sorted(keys), keys
