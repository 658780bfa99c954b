"""Admission control: the per-model bound on queued tokens, and its 429 on every dialect."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest

from mlx_serve.application.admission import (
    AdmissionControl,
    queued_embed_tokens,
    queued_rerank_tokens,
)
from mlx_serve.application.embedding_service import EmbeddingService
from mlx_serve.domain.errors import QueueFull
from mlx_serve.entrypoints.http.errors import handle_exception
from tests.fakes.engines import FakeEmbeddingEngine, make_info
from tests.support.fakes import FakeCache, FakeCatalog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_costs_are_estimated_from_characters_and_capped_by_the_model():
    assert queued_embed_tokens(["a" * 40], max_length=512) == 12  # 40 // 4 + 2 specials
    assert queued_embed_tokens(["a" * 40_000], max_length=256) == 256
    assert queued_embed_tokens([[1, 2, 3], [4] * 1000], max_length=512) == 3 + 512
    assert queued_rerank_tokens("q" * 8, ["d" * 32, "d" * 32], max_length=512) == 2 * (40 // 4 + 2)


def test_an_empty_queue_admits_anything_and_a_full_one_refuses():
    admission = AdmissionControl(100)
    with admission.admit("m", 5000):  # alone: admitted even past the bound
        assert admission.queued("m") == 5000
        with pytest.raises(QueueFull) as refused, admission.admit("m", 1):
            pass
        assert "MLX_SERVE_MAX_QUEUED_TOKENS" in refused.value.message
        with admission.admit("other", 60):  # the bound is per model
            assert admission.queued("other") == 60
    assert admission.queued("m") == 0


def test_tokens_are_released_when_the_body_fails_or_is_cancelled():
    admission = AdmissionControl(100)
    with pytest.raises(RuntimeError), admission.admit("m", 60):
        raise RuntimeError("engine failed")
    with pytest.raises(asyncio.CancelledError), admission.admit("m", 60):
        raise asyncio.CancelledError  # what a client that disconnects causes
    assert admission.queued("m") == 0
    with admission.admit("m", 60), admission.admit("m", 40):
        assert admission.queued("m") == 100


def test_retry_after_follows_the_measured_rate():
    clock = Clock()
    admission = AdmissionControl(1000, clock=clock)
    with admission.admit("m", 10), pytest.raises(QueueFull) as first, \
            admission.admit("m", 5000):
        pass
    assert first.value.retry_after_seconds == 1  # nothing measured yet
    for _ in range(10):  # 100 tokens a second
        clock.now += 1
        with admission.admit("m", 100):
            pass
    with admission.admit("m", 900), pytest.raises(QueueFull) as refused, \
            admission.admit("m", 200):
        pass
    assert 5 <= refused.value.retry_after_seconds <= 20  # ~900 tokens at ~100 tokens/s


def test_the_service_answers_queue_full_while_a_request_is_queued():
    info = make_info("mini", dimensions=8, max_length=64)
    catalog = FakeCatalog([info])
    cache = FakeCache(FakeEmbeddingEngine())
    admission = AdmissionControl(20)
    service = EmbeddingService(catalog, cache, max_inputs=16, admission=admission)

    async def main():
        gate = asyncio.Event()
        real_use = cache.use

        def use(info, *, keep_alive=None):  # hold the first request inside the engine
            async def held():
                async with real_use(info, keep_alive=keep_alive) as model:
                    await gate.wait()
                    yield model
            return asynccontextmanager(held)()

        cache.use = use  # type: ignore[method-assign]
        first = asyncio.create_task(service.embed("mini", ["x" * 40] * 2))
        await asyncio.sleep(0)
        assert admission.queued("mini") == 24
        with pytest.raises(QueueFull):
            await service.embed("mini", ["hello"])
        gate.set()
        _, result = await first
        assert len(result.vectors) == 2
        assert admission.queued("mini") == 0
        await service.embed("mini", ["hello"])  # served normally afterwards

    asyncio.run(main())


@pytest.mark.parametrize("path", ["/v1/embeddings", "/v1/rerank", "/v2/rerank"])
def test_queue_full_is_a_429_rate_limit_error_with_retry_after(path):
    request = SimpleNamespace(path=path, method="POST")
    response = asyncio.run(handle_exception(request, QueueFull("full", retry_after_seconds=7)))
    body = json.loads(response.body)
    assert response.status == 429
    assert response.headers["Retry-After"] == "7"
    assert body["error"]["type"] == "rate_limit_error"
    assert body["error"]["code"] == "queue_full"


def test_queue_full_on_the_ollama_api_is_a_flat_error():
    request = SimpleNamespace(path="/api/embed", method="POST")
    response = asyncio.run(handle_exception(request, QueueFull("full")))
    assert response.status == 429
    assert json.loads(response.body) == {"error": "full"}
    assert response.headers["Retry-After"] == "1"
