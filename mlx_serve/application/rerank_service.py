"""Use case: score documents against a query with an installed reranker.

The service validates the request's shape, resolves the model, borrows it from the residency
cache and asks it for one score per document (request order). Ordering the results for a
response (score descending, then index ascending, cut to ``top_n``) is :func:`rank`, a pure
function the driving adapters share.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any, Protocol

from mlx_serve.application.admission import AdmissionControl, queued_rerank_tokens
from mlx_serve.application.embedding_inputs import char_limit
from mlx_serve.application.request_cost import check_cost, rerank_cost
from mlx_serve.domain.errors import InvalidRequest, MlxServeError, WrongModelType
from mlx_serve.domain.inference import RerankRequest, RerankResult
from mlx_serve.domain.metrics import NO_METRICS, InferenceObserver
from mlx_serve.domain.models import ModelInfo, ModelType


class _Catalog(Protocol):
    def resolve(self, ref: str) -> ModelInfo: ...


class _Cache(Protocol):
    def use(self, info: ModelInfo, *, keep_alive: float | None = None) -> Any: ...


class RerankService:
    """Reranking use case: ``rerank`` validates, resolves and scores."""

    def __init__(
        self,
        catalog: _Catalog,
        cache: _Cache,
        max_documents: int,
        max_request_tokens: int | None = None,
        *,
        observer: InferenceObserver = NO_METRICS,
        admission: AdmissionControl | None = None,
    ) -> None:
        self._catalog = catalog
        self._cache = cache
        self._max_documents = max_documents
        self._max_request_tokens = max_request_tokens  # None: unbounded
        self._observer = observer
        self._admission = admission  # None: no bound on queued work (tests, CLI)

    @property
    def max_documents(self) -> int:
        """The most documents one request may carry."""
        return self._max_documents

    async def rerank(
        self,
        model_ref: str,
        query: str,
        documents: Sequence[str],
        *,
        top_n: int | None = None,
        instruction: str | None = None,
        max_tokens_per_doc: int | None = None,
        keep_alive: float | None = None,
    ) -> tuple[ModelInfo, RerankResult]:
        """Score every document against ``query``; scores come back in request order.

        Raises InvalidRequest (with ``param``) for an empty or non-string query, an empty or
        too long document list, a document that is not a string, a ``top_n`` or
        ``max_tokens_per_doc`` below 1, and WrongModelType when ``model_ref`` names an
        embedding model; ModelNotFound when nothing answers to ``model_ref``.
        """
        self._validate(query, documents, top_n, instruction, max_tokens_per_doc)
        info = self._catalog.resolve(model_ref)
        if info.type is not ModelType.RERANKER:
            raise WrongModelType(model_ref, info.type.value, "reranking")
        # Texts far longer than the model reads are cut before tokenization (a 10 MB document
        # would hold the compute thread for seconds only to be thrown away); the engine
        # still truncates them to the exact maximum and counts them.
        limit = char_limit(info)
        if instruction is not None and len(instruction) > limit:
            # Unlike a document it would be tokenised again with every document.
            raise InvalidRequest(
                f"instruction is longer than {limit} characters", param="instruction"
            )
        request = RerankRequest(
            query=query[:limit],
            documents=[document[:limit] for document in documents],
            instruction=instruction,
            max_tokens_per_doc=max_tokens_per_doc,
        )
        if self._max_request_tokens is not None:
            cost = rerank_cost(
                request.query, request.documents, info,
                instruction=instruction, max_tokens_per_doc=max_tokens_per_doc,
            )
            check_cost(cost, self._max_request_tokens, param="documents",
                       what=f"{len(documents)} query-document pairs")
        admitted = (nullcontext() if self._admission is None else self._admission.admit(
            info.name, queued_rerank_tokens(request.query, request.documents, info.max_length)))
        with admitted:  # QueueFull (429) at once when the model's queue is full
            async with self._cache.use(info, keep_alive=keep_alive) as model:
                began = time.perf_counter()
                result: RerankResult = await model.rerank(request)
                self._observer.inference(info.name, "reranker", int(result.prompt_tokens),
                                         time.perf_counter() - began)
        scores = [float(score) for score in result.scores]
        if len(scores) != len(documents):
            # Never answer with fewer results than documents (contract rule).
            raise MlxServeError(
                f"reranker returned {len(scores)} scores for {len(documents)} documents"
            )
        if not all(math.isfinite(score) for score in scores):
            # JSON cannot carry NaN/Inf; a non-finite score is a model failure, not a result.
            raise MlxServeError(f"model '{model_ref}' produced a non-finite relevance score")
        return info, RerankResult(
            scores=scores,
            prompt_tokens=result.prompt_tokens,
            truncated_documents=result.truncated_documents,
        )

    def _validate(
        self,
        query: object,
        documents: object,
        top_n: object,
        instruction: object,
        max_tokens_per_doc: object,
    ) -> None:
        if not isinstance(query, str) or not query.strip():
            raise InvalidRequest("'query' must be a non-empty string", param="query")
        if isinstance(documents, str) or not isinstance(documents, Sequence):
            raise InvalidRequest("'documents' must be a list of strings", param="documents")
        if not documents:
            raise InvalidRequest("'documents' must not be empty", param="documents")
        if len(documents) > self._max_documents:
            raise InvalidRequest(
                f"'documents' has {len(documents)} items; the maximum is {self._max_documents}",
                param="documents",
            )
        for index, document in enumerate(documents):
            if not isinstance(document, str):
                raise InvalidRequest(
                    f"documents[{index}] must be a string", param=f"documents[{index}]"
                )
        _check_positive_int(top_n, "top_n")
        _check_positive_int(max_tokens_per_doc, "max_tokens_per_doc")
        if instruction is not None and not isinstance(instruction, str):
            raise InvalidRequest("'instruction' must be a string", param="instruction")


def _check_positive_int(value: object, param: str) -> None:
    if value is None:
        return
    # bool is an int subclass; `true` is not a count.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(f"'{param}' must be an integer >= 1", param=param)


def rank(scores: Sequence[float], top_n: int | None = None) -> list[int]:
    """Document indices by score descending, ties by index ascending, at most ``top_n``.

    ``top_n`` larger than the list (or ``None``) keeps every document.
    """
    order = sorted(range(len(scores)), key=lambda index: (-scores[index], index))
    return order if top_n is None else order[:top_n]
