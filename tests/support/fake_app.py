"""A test launcher: the real HTTP app over fake engines, catalog and cache.

``python -m tests.support.fake_app --port N`` serves three fake models: ``mini`` (embedding,
8 dimensions, 16 tokens at most, repo id ``test/mini``, alias ``small``), ``rr`` (reranker) and
``nan`` (an embedding model whose engine returns NaN, to prove NaN never reaches JSON).
API keys, CORS and logging follow the ``MLX_SERVE_*`` environment like the real server.
"""

from __future__ import annotations

import argparse
import math

from mlx_serve.adapters.metrics.prometheus import PrometheusMetrics
from mlx_serve.application.embedding_service import EmbeddingService
from mlx_serve.application.health import HealthState
from mlx_serve.bootstrap.operations import operations_options
from mlx_serve.config.settings import load_settings
from mlx_serve.domain.inference import EmbedResult
from mlx_serve.entrypoints.http.app import create_app
from mlx_serve.entrypoints.http.guards import RequestGuards
from mlx_serve.entrypoints.http.logging import configure_logging
from mlx_serve.entrypoints.http.server import serve
from mlx_serve.entrypoints.http.services import HttpServices
from tests.fakes.engines import FakeEmbeddingEngine, FakeEmbeddingModel, make_info
from tests.support.fakes import FakeCache, FakeCatalog

MAX_INPUTS = 8
MAX_REQUEST_BYTES = 1024 * 1024


class NanEngine(FakeEmbeddingEngine):
    """Loads models whose vectors contain NaN."""

    async def load(self, model):  # type: ignore[override]
        loaded = await super().load(model)

        async def embed(request):
            result = await FakeEmbeddingModel.embed(loaded, request)
            vectors = [[math.nan, *row[1:]] for row in result.vectors]
            return EmbedResult(vectors=vectors, prompt_tokens=result.prompt_tokens)

        loaded.embed = embed  # type: ignore[method-assign]
        return loaded


class RoutingEngine:
    """Sends the ``nan`` model to NanEngine, everything else to the plain fake."""

    def __init__(self) -> None:
        self.plain, self.nan = FakeEmbeddingEngine(), NanEngine()

    async def load(self, model):
        return await (self.nan if model.name == "nan" else self.plain).load(model)


def build_services(metrics: PrometheusMetrics | None = None) -> HttpServices:
    catalog = FakeCatalog(
        [make_info("mini", max_length=16), make_info("rr", "reranker"), make_info("nan")],
        aliases={"small": "mini"},
    )
    cache = FakeCache(RoutingEngine())
    return HttpServices(
        embedding=EmbeddingService(catalog, cache, max_inputs=MAX_INPUTS,
                                   observer=metrics or PrometheusMetrics()),
        catalog=catalog,
        cache=cache,
        health=HealthState(),
        version="0.0.0-test",
        device="fake",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # Keys, CORS, origins, log level and format come from MLX_SERVE_* as in the real server.
    settings = load_settings(host="127.0.0.1")
    configure_logging(settings.log_level, fmt=settings.log_format)
    metrics = PrometheusMetrics()
    app = create_app(
        build_services(metrics), name="mlx-serve-fake", max_request_bytes=MAX_REQUEST_BYTES,
        ops=operations_options(settings, metrics),
        request_guards=RequestGuards.of(settings.allowed_origins, settings.allowed_hosts),
    )
    serve(app, "127.0.0.1", args.port)


if __name__ == "__main__":
    main()
