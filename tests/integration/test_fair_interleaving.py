"""Fair interleaving and withdrawal in request_merger, on the real all-MiniLM-L6-v2.

A pass runs its batches in time slices and re-queues itself between them, so a small request
that arrives while a big one runs is answered before the big one ends; a caller that goes
away mid-pass stops its remaining batches. Ordering is asserted, never time.
"""

from __future__ import annotations

import threading

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlx_serve.adapters.mlx.embedding.engine import MlxEmbeddingEngine  # noqa: E402
from mlx_serve.adapters.mlx.runtime import request_merger  # noqa: E402
from mlx_serve.domain.inference import EmbedRequest  # noqa: E402
from tests.support.mlx_models import converted_minilm  # noqa: E402
from tools.bench_embeddings import make_texts  # noqa: E402

pytestmark = pytest.mark.slow
TEXTS = make_texts(40, seed=5)


@pytest.fixture(scope="module")
def minilm(compute, tmp_path_factory):
    engine = MlxEmbeddingEngine(compute, max_batch_tokens=256)  # many batches per request
    info = converted_minilm(compute, tmp_path_factory.mktemp("m") / "minilm")
    return engine.load_blocking(info)


def submit_parked(minilm, compute, request):
    """Submit ``request`` while the compute thread is parked, so the caller holds the
    future before the pass can start."""
    gate = threading.Event()
    compute.submit(gate.wait)
    future = minilm.merger.submit(request)
    return future, gate


def on_first_batch(minilm, monkeypatch, action):
    """Run ``action`` (on the compute thread) once, when the next pass runs its first batch."""
    session = minilm._session
    real = session.forward_all
    fired = []

    def forward_all(encoded):
        if not fired:
            fired.append(True)
            action()
        return real(encoded)

    monkeypatch.setattr(session, "forward_all", forward_all)


def test_a_small_request_overtakes_a_big_one_and_both_are_right(minilm, compute,
                                                                 monkeypatch):
    monkeypatch.setattr(request_merger, "SLICE_SECONDS", 0.0)  # yield after every batch
    big, small = EmbedRequest(TEXTS), EmbedRequest(["a short question"])
    big_alone, small_alone = minilm.embed_blocking(big), minilm.embed_blocking(small)
    finished: list[str] = []
    futures = {}

    def submit_small():  # arrives while the big pass runs
        futures["small"] = minilm.merger.submit(small)
        futures["small"].add_done_callback(lambda _: finished.append("small"))

    on_first_batch(minilm, monkeypatch, submit_small)
    slices = minilm.merger.stats.slices
    futures["big"], gate = submit_parked(minilm, compute, big)
    futures["big"].add_done_callback(lambda _: finished.append("big"))
    gate.set()
    big_result = futures["big"].result()
    small_result = futures["small"].result()
    assert finished == ["small", "big"]
    assert minilm.merger.stats.slices > slices
    np.testing.assert_allclose(big_result.vectors, big_alone.vectors, atol=1e-5)
    np.testing.assert_allclose(small_result.vectors, small_alone.vectors, atol=1e-5)


def test_a_caller_that_goes_away_mid_pass_stops_its_batches(minilm, compute, monkeypatch):
    monkeypatch.setattr(request_merger, "SLICE_SECONDS", 0.0)
    request = EmbedRequest(TEXTS)
    session = minilm._session
    before = session.forward_batches
    minilm.embed_blocking(request)
    full = session.forward_batches - before
    assert full > 3
    futures = {}
    on_first_batch(minilm, monkeypatch, lambda: futures["big"].withdraw())
    withdrawn = minilm.merger.stats.withdrawn
    before = session.forward_batches
    futures["big"], gate = submit_parked(minilm, compute, request)
    gate.set()
    with pytest.raises(ConnectionAbortedError):
        futures["big"].result()
    assert session.forward_batches - before <= 1  # the batch already running, no more
    assert minilm.merger.stats.withdrawn == withdrawn + 1
    assert minilm.embed_blocking(EmbedRequest(["still serving"])).vectors.shape == (1, 384)
