"""Cross-request batching (request_merger) on the real all-MiniLM-L6-v2 checkpoint.

To make merging deterministic, each test parks the compute thread on a gate, fires its
embed() calls (they queue behind the gate), then opens it: the next drain sees them all.
"""

from __future__ import annotations

import asyncio
import threading

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlx_serve.adapters.mlx.embedding.engine import MlxEmbeddingEngine  # noqa: E402
from mlx_serve.adapters.mlx.runtime import request_merger  # noqa: E402
from mlx_serve.domain.errors import InputTooLong, InvalidRequest  # noqa: E402
from mlx_serve.domain.inference import EmbedRequest  # noqa: E402
from tests.support.mlx_models import converted_minilm  # noqa: E402
from tools.bench_embeddings import make_texts  # noqa: E402

pytestmark = pytest.mark.slow
TEXTS = make_texts(60, seed=11)  # mixed lengths, some over MiniLM's 256 tokens
LONG = "word " * 400  # over the maximum: truncated, or refused with truncate=False


@pytest.fixture(scope="module")
def minilm(compute, tmp_path_factory):
    engine = MlxEmbeddingEngine(compute, max_batch_tokens=4096)
    info = converted_minilm(compute, tmp_path_factory.mktemp("m") / "minilm")
    model = engine.load_blocking(info)
    yield model
    asyncio.run(engine.unload(model))


def fire(model, compute, requests, cancel=()):
    """Embed ``requests`` concurrently, all queued before the compute thread frees up.

    Returns results or exceptions, in order; indices in ``cancel`` are cancelled first.
    """
    async def main():
        gate = threading.Event()
        compute.submit(gate.wait)  # the thread is busy: every call below queues
        tasks = [asyncio.create_task(model.embed(r)) for r in requests]
        await asyncio.sleep(0)  # let every task submit its request
        for index in cancel:
            tasks[index].cancel()
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    return asyncio.run(main())


def cosines(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def assert_same(result, alone):
    assert result.vectors.shape == alone.vectors.shape
    assert result.vectors.dtype == np.float32
    assert cosines(result.vectors, alone.vectors).min() >= 0.99999
    assert np.allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    assert result.prompt_tokens == alone.prompt_tokens
    assert result.truncated_inputs == alone.truncated_inputs


def mixed_requests():
    """Requests of mixed lengths and parameters (instruction, dimensions, ids, truncation)."""
    requests = []
    for i in range(16):
        texts = TEXTS[(i * 7) % 50: (i * 7) % 50 + 1 + i % 6]
        requests.append(EmbedRequest(
            texts if i % 5 else [*texts, LONG],
            instruction="query: " if i % 3 == 1 else None,
            dimensions=(None, 32, 128, 384)[i % 4],
        ))
    requests.append(EmbedRequest([[101, 7592, 2088, 102], "hello world"]))
    return requests


def test_merged_results_equal_each_request_alone(minilm, compute):
    requests = mixed_requests()
    before = minilm.merger.stats.merged_requests
    alone = [minilm.embed_blocking(r) for r in requests]  # one at a time: nothing to merge
    assert minilm.merger.stats.merged_requests == before
    stats = minilm.merger.stats
    passes, batches = stats.passes, minilm._session.forward_batches
    results = fire(minilm, compute, requests)
    for result, reference in zip(results, alone, strict=True):
        assert_same(result, reference)
    assert stats.merged_requests == before + len(requests)
    assert stats.passes == passes + 1  # all of them in one pass
    # Far fewer forward batches than one (or more) per request.
    assert minilm._session.forward_batches - batches < len(requests) // 2


def test_a_bad_request_fails_alone(minilm, compute):
    good = [EmbedRequest(TEXTS[i: i + 3], dimensions=64 if i % 2 else None)
            for i in range(0, 24, 3)]
    alone = [minilm.embed_blocking(r) for r in good]
    bad = [
        EmbedRequest([[101, 10**7, 102]]),  # token id outside the vocabulary
        EmbedRequest(["fine", LONG], truncate=False),  # too long, truncation refused
        EmbedRequest(["x"], dimensions=385),  # more dimensions than the model has
        EmbedRequest(["ok", []]),  # an empty input
    ]
    requests = [good[0], bad[0], *good[1:4], bad[1], bad[2], *good[4:], bad[3]]
    results = fire(minilm, compute, requests)
    expected_errors = [InvalidRequest, InputTooLong, InvalidRequest, InvalidRequest]
    errors = [r for r in results if isinstance(r, BaseException)]
    assert [type(e) for e in errors] == expected_errors
    assert errors[1].param == "input[1]"
    for result, reference in zip([r for r in results if not isinstance(r, BaseException)],
                                 alone, strict=True):
        assert_same(result, reference)


def test_a_failing_merged_pass_is_rerun_request_by_request(minilm, compute, monkeypatch):
    session = minilm._session
    real_forward = session.forward_all
    poison = 7592  # "hello": valid, but this fake forward pass fails on it

    def forward_all(encoded):
        if any(poison in e.ids for e in encoded):
            raise RuntimeError("the accelerator ran out of memory")
        return real_forward(encoded)

    monkeypatch.setattr(session, "forward_all", forward_all)
    good = [EmbedRequest(TEXTS[i: i + 2]) for i in range(0, 10, 2)]
    alone = [minilm.embed_blocking(r) for r in good]
    fallbacks = minilm.merger.stats.fallbacks
    results = fire(minilm, compute, [*good[:2], EmbedRequest([[101, poison, 102]]), *good[2:]])
    assert isinstance(results[2], RuntimeError)
    for result, reference in zip(results[:2] + results[3:], alone, strict=True):
        assert_same(result, reference)
    assert minilm.merger.stats.fallbacks == fallbacks + 1


def test_a_cancelled_caller_does_not_break_the_others(minilm, compute):
    requests = [EmbedRequest(TEXTS[i: i + 2], dimensions=48) for i in range(0, 16, 2)]
    alone = [minilm.embed_blocking(r) for r in requests]
    served = minilm.merger.stats.requests
    results = fire(minilm, compute, requests, cancel=(0, 5))
    assert isinstance(results[0], asyncio.CancelledError)
    assert isinstance(results[5], asyncio.CancelledError)
    for i, (result, reference) in enumerate(zip(results, alone, strict=True)):
        if i not in (0, 5):
            assert_same(result, reference)
    assert minilm.merger.stats.requests == served + len(requests) - 2  # withdrawn ones skipped


def test_merging_is_bounded_and_serves_everyone(minilm, compute, monkeypatch):
    monkeypatch.setattr(request_merger, "PASS_BUDGETS", 1)  # one pass: at most ~4096 tokens
    requests = [EmbedRequest(TEXTS[i % 50: i % 50 + 6]) for i in range(0, 60, 3)]
    alone = [minilm.embed_blocking(r) for r in requests]
    total = sum(r.prompt_tokens for r in alone)
    assert total > 2 * 4096
    stats = minilm.merger.stats
    passes, largest = stats.passes, stats.largest_pass
    stats.largest_pass = 0
    results = fire(minilm, compute, requests)
    for result, reference in zip(results, alone, strict=True):
        assert_same(result, reference)
    assert stats.passes - passes >= total // (4096 + max(r.prompt_tokens for r in alone))
    assert 1 < stats.largest_pass < len(requests)
    stats.largest_pass = max(largest, stats.largest_pass)


def test_a_lone_request_runs_at_once_and_alone(minilm):
    stats = minilm.merger.stats
    passes, merged = stats.passes, stats.merged_requests
    result = asyncio.run(minilm.embed(EmbedRequest(["just me"])))
    assert result.vectors.shape == (1, 384)
    assert (stats.passes, stats.merged_requests) == (passes + 1, merged)
