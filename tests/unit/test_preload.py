"""Preloading at start-up: health stays `starting` until done; failures never stop the rest."""

from __future__ import annotations

import asyncio

from mlx_serve.application.health import HealthState, ServerPhase
from mlx_serve.application.preload import Preloader
from mlx_serve.application.residency import ModelResidencyCache
from tests.fakes.clock import FakeClock
from tests.fakes.engines import FakeEmbeddingEngine, FakeReranker, make_info
from tests.support.fakes import FakeCatalog


def build(**engine_kw):
    emb, rr = FakeEmbeddingEngine(**engine_kw), FakeReranker(**engine_kw)
    cache = ModelResidencyCache(emb, rr, FakeClock(), 3, 2, 1800)
    catalog = FakeCatalog([make_info("mini"), make_info("broken"), make_info("rr", "reranker")])
    health = HealthState()
    return Preloader(catalog, cache, health), cache, health, emb


def test_health_is_starting_until_preloads_finish_then_ok():
    async def main():
        preloader, cache, health, emb = build(load_delay=0.05)
        task = preloader.start(["mini", "RR"])
        await asyncio.sleep(0.01)
        assert health.phase is ServerPhase.STARTING and not health.serving
        assert await task == {}
        assert health.serving and health.status == "ok"
        assert {m.info.name for m in cache.loaded()} == {"mini", "rr"}

    asyncio.run(main())


def test_failed_preloads_are_recorded_and_the_others_load():
    async def main():
        preloader, cache, health, emb = build(fail={"broken"})
        failures = await preloader.run(["nope", "broken", "mini", "mini"])
        assert set(failures) == {"nope", "broken"}
        assert "not found" in failures["nope"] and "broken files" in failures["broken"]
        assert health.preload_failures == failures and health.serving
        assert [m.info.name for m in cache.loaded()] == ["mini"]
        assert emb.load_counts["mini"] == 1

    asyncio.run(main())


def test_no_preloads_is_ready_at_once_and_draining_wins():
    async def main():
        preloader, _, health, _ = build()
        health.mark_draining()
        await preloader.run([])
        assert health.status == "draining" and not health.serving
        fresh = HealthState()
        await Preloader(None, None, fresh).run([])  # type: ignore[arg-type]
        assert fresh.serving

    asyncio.run(main())
