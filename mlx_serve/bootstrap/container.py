"""The dependency-injector container: which adapter implements which port.

Importing this module imports mlx.core (through the MLX adapter), so ``mlx_serve.bootstrap``
activates the optimised BLAS before importing it.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from mlx_serve import __version__
from mlx_serve.adapters.huggingface.repository import HuggingFaceRepository
from mlx_serve.adapters.metrics.prometheus import PrometheusMetrics
from mlx_serve.adapters.mlx.convert.converter import MlxConverter
from mlx_serve.adapters.mlx.embedding.engine import MlxEmbeddingEngine
from mlx_serve.adapters.mlx.rerank.engine import MlxReranker
from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread
from mlx_serve.adapters.openai_tokens.cl100k import Cl100kDecoder
from mlx_serve.adapters.store.filesystem_store import FilesystemModelStore
from mlx_serve.adapters.store.local_repository import LocalDirectoryRepository
from mlx_serve.application.admission import AdmissionControl
from mlx_serve.application.auto_download import AutoDownloader
from mlx_serve.application.catalog import ModelCatalog
from mlx_serve.application.clock import SystemClock
from mlx_serve.application.embedding_service import EmbeddingService
from mlx_serve.application.health import HealthState
from mlx_serve.application.preload import Preloader
from mlx_serve.application.pull_jobs import PullJobs
from mlx_serve.application.rerank_service import RerankService
from mlx_serve.application.residency import ModelResidencyCache
from mlx_serve.bootstrap.tuning import queued_token_bound
from mlx_serve.config.settings import Settings


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    # Driven adapters. One metrics observer, told about HTTP, engine and cache events.
    metrics = providers.Singleton(PrometheusMetrics)
    store = providers.Singleton(FilesystemModelStore, settings.provided.models_path)
    local_repository = providers.Singleton(LocalDirectoryRepository)
    hub_repository = providers.Singleton(
        HuggingFaceRepository,
        settings.provided.downloads_path,
        timeout=settings.provided.hub_timeout_seconds,
    )
    converter = providers.Singleton(MlxConverter)
    compute = providers.Singleton(ComputeThread)
    embedding_engine = providers.Singleton(
        MlxEmbeddingEngine,
        compute,
        settings.provided.max_batch_tokens,
        settings.provided.dtype,
        settings.provided.device,
        observer=metrics,
        cpu_engine=settings.provided.cpu_engine,
    )
    reranker = providers.Singleton(
        MlxReranker,
        compute,
        settings.provided.max_batch_tokens,
        settings.provided.dtype,
        settings.provided.device,
        observer=metrics,
        cpu_engine=settings.provided.cpu_engine,
    )
    clock = providers.Singleton(SystemClock)

    # Application services.
    catalog = providers.Singleton(
        ModelCatalog,
        store,
        providers.List(local_repository, hub_repository),
        converter,
        settings.provided.aliases,
        quantize_group_size=settings.provided.quantize_group_size,
    )
    # Pulls asked for over HTTP reach the Hub only: a remote client must never be able to
    # make the server install (read) a directory from its own disk, such as "~alice/llm".
    remote_catalog = providers.Singleton(
        ModelCatalog,
        store,
        providers.List(hub_repository),
        converter,
        settings.provided.aliases,
        quantize_group_size=settings.provided.quantize_group_size,
    )
    cache = providers.Singleton(
        ModelResidencyCache,
        embedding_engine,
        reranker,
        clock,
        settings.provided.cache_max_embedding_models,
        settings.provided.cache_max_reranker_models,
        settings.provided.cache_ttl_seconds,
        observer=metrics,
    )
    openai_token_decoder = providers.Singleton(Cl100kDecoder)
    admission = providers.Singleton(
        AdmissionControl,
        providers.Callable(
            queued_token_bound, settings.provided.max_queued_tokens, settings.provided.device
        ),
        observer=metrics,
    )
    embedding = providers.Singleton(
        EmbeddingService, catalog, cache, settings.provided.max_inputs,
        settings.provided.max_request_tokens, observer=metrics,
        token_decoder=openai_token_decoder,
        token_id_vocabulary=settings.provided.token_id_vocabulary,
        aliases=settings.provided.aliases,
        admission=admission,
    )
    rerank = providers.Singleton(
        RerankService, catalog, cache, settings.provided.max_documents,
        settings.provided.max_request_tokens, observer=metrics, admission=admission,
    )
    health = providers.Singleton(HealthState)
    preloader = providers.Singleton(Preloader, catalog, cache, health)
    pull_jobs = providers.Singleton(PullJobs, remote_catalog, observer=metrics)
    auto_downloader = providers.Singleton(
        AutoDownloader,
        remote_catalog,
        pull_jobs,
        aliases=settings.provided.aliases,
        timeout_seconds=settings.provided.auto_download_timeout_seconds,
    )
    version = providers.Object(__version__)
