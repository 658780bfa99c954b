"""Embedding use case: resolve the model, validate the inputs, embed them on the cached model.

The service owns every semantic check of an embedding request so that all driving adapters
(OpenAI routes, Ollama routes, CLI) reject the same bad inputs with the same ``param`` names.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any, Protocol

from mlx_serve.application.admission import AdmissionControl, queued_embed_tokens
from mlx_serve.application.aliases import UserAlias, prompt_bindings
from mlx_serve.application.embedding_inputs import (
    bound_text_lengths,
    char_limit,
    check_dimensions,
    check_truncate_prompt_tokens,
    normalize_inputs,
)
from mlx_serve.application.prompts import check_prompt_fields, select_prompt
from mlx_serve.application.request_cost import check_cost, embedding_cost
from mlx_serve.application.token_vocabulary import MODEL, check_vocabulary, decode_token_inputs
from mlx_serve.domain.errors import InvalidRequest, MlxServeError, WrongModelType
from mlx_serve.domain.inference import EmbedRequest, EmbedResult, TokenizeResult
from mlx_serve.domain.metrics import NO_METRICS, InferenceObserver
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.names import validate_model_reference
from mlx_serve.domain.ports import TokenIdDecoder


class ModelResolver(Protocol):
    """The part of ModelCatalog this service needs."""

    def resolve(self, ref: str) -> ModelInfo: ...


class ModelUser(Protocol):
    """The part of ModelResidencyCache this service needs."""

    def use(self, info: ModelInfo, *, keep_alive: float | None = None) -> Any: ...


class EmbeddingService:
    """Embeds inputs with an installed embedding model, loading it through the residency cache."""

    def __init__(
        self,
        catalog: ModelResolver,
        cache: ModelUser,
        max_inputs: int,
        max_request_tokens: int | None = None,
        *,
        observer: InferenceObserver = NO_METRICS,
        token_decoder: TokenIdDecoder | None = None,
        token_id_vocabulary: str = MODEL,
        aliases: Mapping[str, UserAlias] | None = None,
        admission: AdmissionControl | None = None,
    ) -> None:
        """``max_request_tokens``: the most tokens one request may cost (None: unbounded);
        ``token_decoder`` reads token-id inputs of a foreign vocabulary (``cl100k_base``);
        ``token_id_vocabulary`` is what token ids mean when a request does not say;
        ``aliases``: the configured aliases (those binding a prompt apply it);
        ``admission`` bounds the work queued per model (None: unbounded; tests, CLI)."""
        self._catalog = catalog
        self._cache = cache
        self._max_inputs = max_inputs
        self._max_request_tokens = max_request_tokens
        self._observer = observer
        self._decoder = token_decoder
        self._vocabulary = check_vocabulary(token_id_vocabulary)
        self._bound_prompts = prompt_bindings(aliases)
        self._admission = admission

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
        token_id_vocabulary: str | None = None,
        truncate_prompt_tokens: int | None = None,
        prompt_name: str | None = None,
        input_type: str | None = None,
    ) -> tuple[ModelInfo, EmbedResult]:
        """Embed ``inputs`` (a text, a list of texts, token ids or a list of token-id lists).

        Token ids are read in ``token_id_vocabulary`` (default: the service's): the model's
        own, or a foreign one (``cl100k_base``) whose ids are decoded to text first.
        ``truncate_prompt_tokens`` (vLLM's) keeps only the last N tokens of each input.
        ``prompt_name`` / ``input_type`` pick one of the model's own prompts (see
        application.prompts). Returns the resolved model and one vector per input, in order.
        Raises InvalidRequest (``param`` names the field, e.g. ``input[3]``) for anything the
        model cannot take, an unknown prompt name among them.
        """
        info = self.resolve(model_ref)
        normalized = normalize_inputs(inputs, max_inputs=self._max_inputs)
        vocabulary = self._vocabulary
        if token_id_vocabulary is not None:
            vocabulary = check_vocabulary(token_id_vocabulary)
        if vocabulary != MODEL and any(not isinstance(item, str) for item in normalized):
            if self._decoder is None or self._decoder.name != vocabulary:
                raise InvalidRequest(
                    f"token ids of {vocabulary} cannot be read by this server",
                    param="token_id_vocabulary",
                )
            normalized = [*decode_token_inputs(normalized, self._decoder)]
        check_dimensions(dimensions, info)
        keep_last = check_truncate_prompt_tokens(truncate_prompt_tokens, info)
        if instruction is not None and not isinstance(instruction, str):
            raise InvalidRequest("instruction must be a string", param="instruction")
        check_prompt_fields(prompt_name, input_type, instruction)
        if not isinstance(truncate, bool):
            raise InvalidRequest("truncate must be a boolean", param="truncate")
        normalized = bound_text_lengths(
            normalized, info, truncate=truncate, keep_end=keep_last is not None
        )
        limit = char_limit(info)
        if instruction is not None and len(instruction) > limit:
            raise InvalidRequest(
                f"instruction is longer than {limit} characters", param="instruction"
            )
        self._check_cost(normalized, info, instruction)
        bound = self._bound_prompts.get(str(model_ref).casefold())
        admitted = (nullcontext() if self._admission is None else self._admission.admit(
            info.name, queued_embed_tokens(normalized, info.max_length)))
        with admitted:  # QueueFull (429) at once when the model's queue is full
            async with self._cache.use(info, keep_alive=keep_alive) as model:
                prompt = select_prompt(
                    str(model_ref), model.prompts, prompt_name=prompt_name,
                    input_type=input_type, bound_name=bound, instruction=instruction,
                    texts=all(isinstance(item, str) for item in normalized))
                if prompt:
                    # The prompt is known only once the model is: it goes before each input.
                    self._check_cost(normalized, info, prompt)
                request = EmbedRequest(inputs=normalized, instruction=instruction,
                                       dimensions=dimensions, truncate=truncate, prompt=prompt,
                                       max_tokens=keep_last)
                began = time.perf_counter()
                result: EmbedResult = await model.embed(request)
                self._observer.inference(info.name, "embedding", int(result.prompt_tokens),
                                         time.perf_counter() - began)
        if len(result.vectors) != len(normalized):
            # Never answer with fewer vectors than inputs: that is a bug, not a client error.
            raise MlxServeError(
                f"engine returned {len(result.vectors)} vectors for {len(normalized)} inputs"
            )
        return info, result

    def _check_cost(self, inputs: list[str | list[int]], info: ModelInfo,
                    prefix: str | None) -> None:
        """RequestTooCostly when ``inputs`` (each after ``prefix``) may cost more tokens than
        the bound."""
        if self._max_request_tokens is not None:
            check_cost(embedding_cost(inputs, info, prefix), self._max_request_tokens,
                       param="input", what=f"{len(inputs)} inputs")

    async def tokenize(self, model_ref: str, texts: object) -> tuple[ModelInfo, TokenizeResult]:
        """Token ids of each text as the model would embed them (special tokens included)."""
        info = self.resolve(model_ref)
        normalized = normalize_inputs(texts, max_inputs=self._max_inputs, allow_tokens=False)
        # Embed would read no further than this either (ids "as embed would feed them").
        normalized = bound_text_lengths(normalized, info, truncate=True)
        if self._max_request_tokens is not None:
            check_cost(embedding_cost(normalized, info), self._max_request_tokens,
                       param="input", what=f"{len(normalized)} inputs")
        async with self._cache.use(info) as model:
            result: TokenizeResult = await model.tokenize([str(t) for t in normalized])
        return info, result
