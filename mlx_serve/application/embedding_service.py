"""Embedding use case: resolve the model, validate the inputs, embed them on the cached model.

The service owns every semantic check of an embedding request so that all driving adapters
(OpenAI routes, Ollama routes, CLI) reject the same bad inputs with the same ``param`` names.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Protocol

from mlx_serve.application.admission import AdmissionControl, embed_cost
from mlx_serve.application.embedding_inputs import (
    bound_text_lengths,
    char_limit,
    check_dimensions,
    normalize_inputs,
)
from mlx_serve.domain.errors import InvalidRequest, MlxServeError, WrongModelType
from mlx_serve.domain.inference import EmbedRequest, EmbedResult, TokenizeResult
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.names import validate_model_reference


class ModelResolver(Protocol):
    """The part of ModelCatalog this service needs."""

    def resolve(self, ref: str) -> ModelInfo: ...


class ModelUser(Protocol):
    """The part of ModelResidencyCache this service needs."""

    def use(self, info: ModelInfo, *, keep_alive: float | None = None) -> Any: ...


class EmbeddingService:
    """Embeds inputs with an installed embedding model, loading it through the residency cache."""

    def __init__(self, catalog: ModelResolver, cache: ModelUser, max_inputs: int,
                 admission: AdmissionControl | None = None) -> None:
        self._catalog = catalog
        self._cache = cache
        self._max_inputs = max_inputs
        self._admission = admission  # None: no bound on queued work (tests, CLI)

    def resolve(self, model_ref: object) -> ModelInfo:
        """The embedding model ``model_ref`` names; raises InvalidModelName, ModelNotFound,
        WrongModelType."""
        ref = validate_model_reference(model_ref)
        # resolve reads a few small metadata files; cheaper inline than a hop to a thread pool
        # that long-running pulls may be occupying.
        info = self._catalog.resolve(ref)
        if info.type is not ModelType.EMBEDDING:
            raise WrongModelType(ref, info.type.value, "embeddings")
        return info

    async def embed(
        self,
        model_ref: str,
        inputs: object,
        *,
        instruction: str | None = None,
        dimensions: int | None = None,
        truncate: bool = True,
        keep_alive: float | None = None,
    ) -> tuple[ModelInfo, EmbedResult]:
        """Embed ``inputs`` (a text, a list of texts, token ids or a list of token-id lists).

        Returns the resolved model and one vector per input, in order. Raises InvalidRequest
        (``param`` names the field, e.g. ``input[3]``) for anything the model cannot take.
        """
        info = self.resolve(model_ref)
        normalized = normalize_inputs(inputs, max_inputs=self._max_inputs)
        check_dimensions(dimensions, info)
        if instruction is not None and not isinstance(instruction, str):
            raise InvalidRequest("instruction must be a string", param="instruction")
        if not isinstance(truncate, bool):
            raise InvalidRequest("truncate must be a boolean", param="truncate")
        normalized = bound_text_lengths(normalized, info, truncate=truncate)
        limit = char_limit(info)
        if instruction is not None and len(instruction) > limit:
            raise InvalidRequest(
                f"instruction is longer than {limit} characters", param="instruction"
            )
        request = EmbedRequest(
            inputs=normalized, instruction=instruction, dimensions=dimensions, truncate=truncate
        )
        admitted = (nullcontext() if self._admission is None else
                    self._admission.admit(info.name, embed_cost(normalized, info.max_length)))
        with admitted:  # QueueFull (429) at once when the model's queue is full
            async with self._cache.use(info, keep_alive=keep_alive) as model:
                result: EmbedResult = await model.embed(request)
        if len(result.vectors) != len(normalized):
            # Never answer with fewer vectors than inputs: that is a bug, not a client error.
            raise MlxServeError(
                f"engine returned {len(result.vectors)} vectors for {len(normalized)} inputs"
            )
        return info, result

    async def tokenize(self, model_ref: str, texts: object) -> tuple[ModelInfo, TokenizeResult]:
        """Token ids of each text as the model would embed them (special tokens included)."""
        info = self.resolve(model_ref)
        normalized = normalize_inputs(texts, max_inputs=self._max_inputs, allow_tokens=False)
        # Embed would read no further than this either (ids "as embed would feed them").
        normalized = bound_text_lengths(normalized, info, truncate=True)
        async with self._cache.use(info) as model:
            result: TokenizeResult = await model.tokenize([str(t) for t in normalized])
        return info, result
