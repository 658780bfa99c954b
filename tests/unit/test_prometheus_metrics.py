"""The Prometheus adapter renders what the observer was told, in its own registry; the
residency cache reports loads and unloads through the port."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from mlx_serve.adapters.metrics.prometheus import PrometheusMetrics
from mlx_serve.application.residency import ModelResidencyCache
from tests.fakes.clock import FakeClock
from tests.fakes.engines import FakeEmbeddingEngine, FakeReranker, make_info


def samples(metrics: PrometheusMetrics) -> dict[tuple[str, tuple], float]:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_every_measurement_becomes_a_series():
    metrics = PrometheusMetrics()
    metrics.request_finished("/v1/embeddings", "POST", 200, 0.02)
    metrics.request_finished("/v1/embeddings", "POST", 200, 0.03)
    metrics.inference("mini", "embedding", 120, 0.01)
    metrics.queue_wait("mini", 0.004)
    metrics.queued_tokens("mini", 300)
    metrics.forward_batch("mini", 4, 64, 50)
    metrics.pull_progress(started=1)
    metrics.pull_progress(bytes_done=1000)
    got = samples(metrics)
    route = (("method", "POST"), ("route", "/v1/embeddings"), ("status", "200"))
    assert got[("mlx_serve_http_requests_total", route)] == 2
    assert got[("mlx_serve_http_request_duration_seconds_count",
                (("method", "POST"), ("route", "/v1/embeddings")))] == 2
    assert got[("mlx_serve_tokens_total", (("kind", "embedding"), ("model", "mini")))] == 120
    assert got[("mlx_serve_queue_wait_seconds_count", (("model", "mini"),))] == 1
    assert got[("mlx_serve_queued_tokens", (("model", "mini"),))] == 300
    assert got[("mlx_serve_batch_padded_tokens_total", (("model", "mini"),))] == 64
    assert got[("mlx_serve_batch_real_tokens_total", (("model", "mini"),))] == 50
    assert got[("mlx_serve_batch_rows_sum", (("model", "mini"),))] == 4
    assert got[("mlx_serve_pulls_in_progress", ())] == 1
    assert got[("mlx_serve_pull_bytes_total", ())] == 1000


def test_two_servers_do_not_share_series():
    one, two = PrometheusMetrics(), PrometheusMetrics()
    one.request_finished("/health", "GET", 200, 0.001)
    assert not any(name == "mlx_serve_http_requests_total" for name, _ in samples(two))


def test_the_cache_reports_loads_evictions_and_load_time():
    metrics = PrometheusMetrics()
    cache = ModelResidencyCache(FakeEmbeddingEngine(), FakeReranker(), FakeClock(), 1, 1, 60,
                                observer=metrics)

    async def main():
        async with cache.use(make_info("a")):
            pass
        async with cache.use(make_info("b")):  # evicts a (limit 1)
            pass
        async with cache.use(make_info("r", "reranker")):
            pass

    asyncio.run(asyncio.wait_for(main(), 10))
    got = samples(metrics)
    assert got[("mlx_serve_model_loads_total", (("kind", "embedding"),))] == 2
    assert got[("mlx_serve_model_unloads_total", (("kind", "embedding"),))] == 1
    assert got[("mlx_serve_models_loaded", (("kind", "embedding"),))] == 1
    assert got[("mlx_serve_models_loaded", (("kind", "reranker"),))] == 1
    assert got[("mlx_serve_model_load_duration_seconds_count", (("kind", "reranker"),))] == 1


def test_pulls_report_progress_and_bytes_once_each():
    from mlx_serve.application.pull_jobs import PullJobs
    from mlx_serve.domain.ports import PullProgress

    class Catalog:
        def pull(self, source, *, progress, **options):
            progress(PullProgress("pulling manifest"))
            for done in (100, 600, 600, 1000):  # cumulative, with a repeat
                progress(PullProgress("pulling w", "w.safetensors", "sha256:x", 1000, done))
            progress(PullProgress("pulling t", "tok.json", "sha256:y", 50, 50))
            return make_info("m")

    metrics = PrometheusMetrics()

    async def main():
        await PullJobs(Catalog(), observer=metrics).start("org/m").wait()

    asyncio.run(asyncio.wait_for(main(), 10))
    got = samples(metrics)
    assert got[("mlx_serve_pulls_in_progress", ())] == 0
    assert got[("mlx_serve_pull_bytes_total", ())] == 1050
