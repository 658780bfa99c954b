"""ModelResidencyCache on fake engines and a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from mlx_serve.application.residency import ModelResidencyCache
from mlx_serve.domain.errors import ModelLoadError
from tests.fakes.clock import FakeClock
from tests.fakes.engines import FakeEmbeddingEngine, FakeReranker, make_info

A, B, C, D = (make_info(n) for n in "abcd")
R1, R2 = make_info("r1", "reranker"), make_info("r2", "reranker")


def build(max_emb: int = 2, max_rr: int = 1, ttl: float = 60, **engine_kw):
    emb, rr, clock = FakeEmbeddingEngine(**engine_kw), FakeReranker(**engine_kw), FakeClock()
    cache = ModelResidencyCache(emb, rr, clock, max_emb, max_rr, ttl)
    return cache, emb, rr, clock


def names(cache: ModelResidencyCache) -> set[str]:
    return {m.info.name for m in cache.loaded()}


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_use_yields_the_model_of_each_type_and_loads_once():
    async def main():
        cache, emb, rr, _ = build()
        async with cache.use(A) as model:
            assert model.info is A
            assert (await model.embed(_request())).prompt_tokens == 4
        async with cache.use(A), cache.use(R1) as reranker:
            assert reranker.info is R1
        assert emb.load_counts == {"a": 1} and rr.load_counts == {"r1": 1}
        assert names(cache) == {"a", "r1"}

    run(main())


def test_lru_order_and_per_type_limits():
    async def main():
        cache, emb, rr, clock = build(max_emb=2, max_rr=1)
        for info in (A, B):
            async with cache.use(info):
                clock.advance(1)
        async with cache.use(A):  # A is now more recent than B
            clock.advance(1)
        async with cache.use(C):  # full: evicts B, the least recently used
            pass
        await settle()
        assert names(cache) == {"a", "c"}
        assert emb.unload_counts == {"b": 1}
        # The events show B was unloaded before C was loaded (peak stays at the limit).
        assert emb.events.index(("unload", "b")) < emb.events.index(("load", "c"))
        # Rerankers have their own limit and do not evict embedding models.
        async with cache.use(R1):
            pass
        async with cache.use(R2):
            pass
        await settle()
        assert names(cache) == {"a", "c", "r2"}
        assert rr.unload_counts == {"r1": 1}

    run(main())


def test_ttl_expiry_and_refresh():
    async def main():
        cache, emb, _, clock = build(ttl=60)
        async with cache.use(A):
            pass
        [resident] = cache.loaded()
        assert resident.expires_at == clock.wall() + 60
        assert resident.memory_bytes == emb.memory_bytes
        clock.advance(50)
        async with cache.use(A):  # refreshes the TTL
            pass
        clock.advance(50)
        assert await cache.sweep() == []
        assert names(cache) == {"a"}
        clock.advance(11)
        assert await cache.sweep() == ["a"]
        assert names(cache) == set() and emb.unload_counts == {"a": 1}
        async with cache.use(A):  # loads again after expiry
            pass
        assert emb.load_counts == {"a": 2}

    run(main())


def test_in_use_model_is_never_expired_or_evicted():
    async def main():
        cache, emb, _, clock = build(max_emb=1, ttl=10)
        emb.gate = asyncio.Event()
        holder_started = asyncio.Event()

        async def long_request():
            async with cache.use(A) as model:
                holder_started.set()
                await model.embed(_request())

        holder = asyncio.create_task(long_request())
        await holder_started.wait()
        clock.advance(1000)
        assert await cache.sweep() == []  # in use: not expired
        async with cache.use(B):  # limit 1, A busy: B loads anyway (over the limit for now)
            assert names(cache) == {"a", "b"}
        assert emb.unload_counts["a"] == 0
        emb.gate.set()
        await holder
        await settle()
        # Once A is released the type is trimmed back to its limit, least recently used first.
        assert len(cache.loaded()) == 1
        assert sum(emb.unload_counts.values()) == 1

    run(main())


def test_eviction_under_concurrency_never_unloads_a_busy_model():
    async def main():
        cache, emb, _, _ = build(max_emb=2, load_delay=0.001)
        emb.request_delay = 0.002
        unloaded_while_busy = []
        busy: dict[str, int] = {}
        original_unload = emb.unload

        async def guarded_unload(model):
            if busy.get(model.info.name):
                unloaded_while_busy.append(model.info.name)
            await original_unload(model)

        emb.unload = guarded_unload  # type: ignore[method-assign]

        async def request(info):
            async with cache.use(info) as model:
                busy[info.name] = busy.get(info.name, 0) + 1
                await model.embed(_request())
                busy[info.name] -= 1

        await asyncio.gather(*(request(info) for _ in range(10) for info in (A, B, C, D)))
        await settle()
        assert unloaded_while_busy == []
        assert len(cache.loaded()) <= 2

    run(main())


def test_single_load_under_thundering_herd():
    async def main():
        cache, emb, _, _ = build(load_delay=0.05)

        async def request():
            async with cache.use(A) as model:
                return model

        models = await asyncio.gather(*(request() for _ in range(50)))
        assert emb.load_counts == {"a": 1}
        assert emb.max_concurrent_loads == 1
        assert len({id(m) for m in models}) == 1

    run(main())


def test_failed_load_raises_to_every_waiter_and_is_not_cached():
    async def main():
        cache, emb, _, _ = build(load_delay=0.01, fail={"a"})

        async def request():
            async with cache.use(A):
                pass

        results = await asyncio.gather(*(request() for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, ModelLoadError) for r in results)
        assert emb.load_counts == {"a": 1} and cache.loaded() == []
        emb.fail.clear()
        await request()  # the next request tries again
        assert emb.load_counts == {"a": 2} and names(cache) == {"a"}

    run(main())


def test_cancelled_waiter_does_not_cancel_the_shared_load():
    async def main():
        cache, emb, _, _ = build(load_delay=0.05)

        async def request():
            async with cache.use(A):
                pass

        first, second = asyncio.create_task(request()), asyncio.create_task(request())
        await asyncio.sleep(0.01)
        first.cancel()
        await second
        with pytest.raises(asyncio.CancelledError):
            await first
        assert emb.load_counts == {"a": 1} and names(cache) == {"a"}

    run(main())


def test_keep_alive_zero_negative_and_seconds():
    async def main():
        cache, emb, _, clock = build(ttl=60)
        async with cache.use(A, keep_alive=0):
            assert names(cache) == {"a"}
        await settle()
        assert names(cache) == set() and emb.unload_counts == {"a": 1}

        async with cache.use(B, keep_alive=-1):
            pass
        [resident] = cache.loaded()
        assert resident.expires_at is None
        clock.advance(10**6)
        assert await cache.sweep() == []

        async with cache.use(C, keep_alive=5):
            pass
        assert {m.info.name: m.expires_at for m in cache.loaded()}["c"] == clock.wall() + 5
        clock.advance(6)
        assert await cache.sweep() == ["c"]
        # A later request without keep_alive returns B to the configured TTL.
        async with cache.use(B):
            pass
        clock.advance(61)
        assert await cache.sweep() == ["b"]

    run(main())


def test_keep_alive_zero_waits_for_other_users():
    async def main():
        cache, emb, _, _ = build()
        async with cache.use(A):
            async with cache.use(A, keep_alive=0):
                pass
            await settle()
            assert names(cache) == {"a"}  # the outer request still uses it
        await settle()
        assert names(cache) == set()
        assert emb.load_counts == {"a": 1} and emb.unload_counts == {"a": 1}

    run(main())


def test_preload_unload_and_close():
    async def main():
        cache, emb, rr, clock = build()
        await cache.preload(A)
        await cache.preload(R1)
        assert names(cache) == {"a", "r1"}
        assert await cache.unload("A") is True  # case-insensitive
        assert await cache.unload("a") is False
        assert names(cache) == {"r1"}
        # Unloading a busy model takes effect when its request finishes.
        async with cache.use(B):
            assert await cache.unload("b") is True
            assert emb.unload_counts["b"] == 0
        await settle()
        assert emb.unload_counts["b"] == 1
        await cache.preload(C)
        await cache.close()
        assert cache.loaded() == [] and emb.resident == set() and rr.resident == set()

    run(main())


def test_background_sweeper_unloads_expired_models():
    async def main():
        emb, rr, clock = FakeEmbeddingEngine(), FakeReranker(), FakeClock()
        cache = ModelResidencyCache(emb, rr, clock, 2, 1, 30, sweep_interval_seconds=0.01)
        cache.start_sweeper()
        await cache.preload(A)
        clock.advance(31)
        for _ in range(100):
            if emb.unload_counts:
                break
            await asyncio.sleep(0.01)
        assert cache.loaded() == [] and emb.unload_counts == {"a": 1}
        await cache.close()

    run(main())


def _request():
    from mlx_serve.domain.inference import EmbedRequest

    return EmbedRequest(inputs=["hello world"])
