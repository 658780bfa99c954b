"""Embedding use case: resolve the model, validate the inputs, embed them on the cached model.

The service owns every semantic check of an embedding request so that all driving adapters
(OpenAI routes, Ollama routes, CLI) reject the same bad inputs with the same ``param`` names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mlx_serve.domain.errors import InvalidRequest, MlxServeError, WrongModelType
from mlx_serve.domain.inference import EmbedRequest, EmbedResult, TokenizeResult
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.names import validate_model_reference

# Token ids are fed to the engines as int32: anything larger cannot be a vocabulary entry and
# would overflow the conversion (a 500) instead of giving the client a 400.
_MAX_TOKEN_ID = 2**31 - 1


class ModelResolver(Protocol):
    """The part of ModelCatalog this service needs."""

    def resolve(self, ref: str) -> ModelInfo: ...


class ModelUser(Protocol):
    """The part of ModelResidencyCache this service needs."""

    def use(self, info: ModelInfo, *, keep_alive: float | None = None) -> Any: ...


class EmbeddingService:
    """Embeds inputs with an installed embedding model, loading it through the residency cache."""

    def __init__(self, catalog: ModelResolver, cache: ModelUser, max_inputs: int) -> None:
        self._catalog = catalog
        self._cache = cache
        self._max_inputs = max_inputs

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
        _check_dimensions(dimensions, info)
        if instruction is not None and not isinstance(instruction, str):
            raise InvalidRequest("instruction must be a string", param="instruction")
        if not isinstance(truncate, bool):
            raise InvalidRequest("truncate must be a boolean", param="truncate")
        request = EmbedRequest(
            inputs=normalized, instruction=instruction, dimensions=dimensions, truncate=truncate
        )
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
        async with self._cache.use(info) as model:
            result: TokenizeResult = await model.tokenize([str(t) for t in normalized])
        return info, result


def normalize_inputs(
    inputs: object, *, max_inputs: int, allow_tokens: bool = True, param: str = "input"
) -> list[str | list[int]]:
    """Turn the accepted input shapes into a list of texts or a list of token-id lists.

    Texts and token ids cannot be mixed in one request: an engine batches one kind.
    """
    if isinstance(inputs, str):
        if not inputs:
            raise InvalidRequest(f"{param} must not be an empty string", param=param)
        return [inputs]
    if not isinstance(inputs, list | tuple):
        kinds = "a string or a list of strings"
        if allow_tokens:
            kinds += ", token ids or lists of token ids"
        raise InvalidRequest(f"{param} must be {kinds}", param=param)
    if not inputs:
        raise InvalidRequest(f"{param} must not be an empty list", param=param)
    if len(inputs) > max_inputs:
        raise InvalidRequest(
            f"{param} has {len(inputs)} items; at most {max_inputs} are allowed per request",
            param=param,
        )
    if allow_tokens and _is_int(inputs[0]):
        # One tokenised input: [1, 2, 3]; a bad element is named by its own index.
        _check_token_ids(inputs, param, name_element=True)
        return [list(inputs)]
    first = inputs[0]
    want_text = isinstance(first, str) or not allow_tokens
    out: list[str | list[int]] = []
    for i, item in enumerate(inputs):
        where = f"{param}[{i}]"
        if want_text:
            if not isinstance(item, str):
                raise InvalidRequest(
                    f"{where} must be a string (inputs of one request are all texts"
                    + (" or all token-id lists)" if allow_tokens else ")"),
                    param=where,
                )
            if not item:
                raise InvalidRequest(f"{where} must not be an empty string", param=where)
            out.append(item)
        else:
            if not isinstance(item, list | tuple):
                raise InvalidRequest(
                    f"{where} must be a list of token ids (inputs of one request are all "
                    "texts or all token-id lists)",
                    param=where,
                )
            if not item:
                raise InvalidRequest(f"{where} must not be an empty list", param=where)
            _check_token_ids(item, where)
            out.append(list(item))
    return out


def _is_int(value: object) -> bool:
    # bool is an int subclass, but `true` is never a token id.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_token_ids(ids: Sequence[object], param: str, *, name_element: bool = False) -> None:
    for j, token in enumerate(ids):
        if not _is_int(token) or not 0 <= token <= _MAX_TOKEN_ID:  # type: ignore[operator]
            where = f"{param}[{j}]"
            raise InvalidRequest(
                f"{where} must be a non-negative integer token id, got {token!r}"[:300],
                param=where if name_element else param,
            )


def _check_dimensions(dimensions: object, info: ModelInfo) -> None:
    if dimensions is None:
        return
    if not _is_int(dimensions):
        raise InvalidRequest("dimensions must be an integer", param="dimensions")
    native = info.dimensions
    if dimensions < 1 or (native is not None and dimensions > native):  # type: ignore[operator]
        limit = f"between 1 and {native}" if native is not None else "at least 1"
        raise InvalidRequest(
            f"dimensions must be {limit} for model '{info.name}', got {dimensions}",
            param="dimensions",
        )
