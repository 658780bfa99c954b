"""What the HTTP controllers need, built by the composition root and handed to create_app.

Controllers read it from ``request.app.ctx.services``; they never import the container.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlx_serve.application.embedding_service import EmbeddingService
from mlx_serve.application.health import HealthState


@dataclass
class HttpServices:
    """The application services behind the HTTP API.

    ``catalog`` is a ModelCatalog (``list``/``resolve``/``remove``/``pull``); ``cache`` a
    ModelResidencyCache (``use``/``loaded``/``unload``). ``rerank`` is optional so the app
    runs without reranking routes' service. ``extras`` carries services of route modules added
    later (pull jobs, ...) without changing this class.
    """

    embedding: EmbeddingService
    catalog: Any
    cache: Any
    health: HealthState
    version: str
    device: str
    rerank: Any | None = None
    extras: dict[str, Any] = field(default_factory=dict)
