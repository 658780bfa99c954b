"""What every rerank dialect asks the RerankService, and running it.

A dialect turns its request into one or more RerankCalls (vLLM's ``/score`` may pair each
document with its own query) and maps the results back; field names in error messages are
translated into the dialect's own (``texts`` for TEI, ``text_2`` for vLLM).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlx_serve.application.default_model import only_model
from mlx_serve.domain.errors import InvalidRequest, MlxServeError
from mlx_serve.domain.inference import RerankResult
from mlx_serve.domain.models import ModelType


@dataclass(frozen=True)
class RerankCall:
    """One query against its documents; ``model`` None means the one installed reranker."""

    model: str | None
    query: Any
    documents: list[str]
    top_n: int | None = None
    instruction: str | None = None
    max_tokens_per_doc: int | None = None
    # Field names of the dialect, for error messages: {"documents": "texts"}.
    names: Mapping[str, str] = field(default_factory=dict)


async def resolve_model(services: Any, model: str | None) -> str:
    """``model``, or the only installed reranker when the request named none."""
    if model is not None:
        return model
    infos = await asyncio.to_thread(services.catalog.list)
    return only_model(infos, ModelType.RERANKER)


async def run_rerank(services: Any, call: RerankCall) -> tuple[str, RerankResult]:
    """The model that answered and the scores of ``call.documents`` in request order
    (RerankService's checks apply)."""
    service = services.rerank
    if service is None:
        raise MlxServeError("reranking is not available in this server")
    model = await resolve_model(services, call.model)
    try:
        _, result = await service.rerank(
            model,
            call.query,
            call.documents,
            top_n=call.top_n,
            instruction=call.instruction,
            max_tokens_per_doc=call.max_tokens_per_doc,
        )
    except InvalidRequest as exc:
        raise renamed(exc, call.names) from None
    return model, result


def renamed(exc: InvalidRequest, names: Mapping[str, str]) -> InvalidRequest:
    """``exc`` with the service's field names replaced by the dialect's (``names``)."""
    if not names:
        return exc
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    message = pattern.sub(lambda m: names[m.group(1)], exc.message)
    param = pattern.sub(lambda m: names[m.group(1)], exc.param) if exc.param else exc.param
    return type(exc)(message, param=param)


def logit(probability: float) -> float:
    """The raw score behind a relevance probability: both families' scores are sigmoids
    (of a cross-encoder's logit, of Qwen3's yes-minus-no logit). Kept finite."""
    p = min(max(probability, 1e-15), 1.0 - 1e-15)
    return math.log(p / (1.0 - p))
