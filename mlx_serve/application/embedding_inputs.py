"""Validation of embedding inputs: the accepted shapes, token ids, lengths and dimensions.

Shared by every driving adapter through EmbeddingService, so OpenAI and Ollama routes reject
the same inputs with the same ``param`` names (``input[3]``).
"""

from __future__ import annotations

from collections.abc import Sequence

from mlx_serve.domain.errors import InputTooLong, InvalidRequest
from mlx_serve.domain.models import ModelInfo

# A token covers far fewer characters than this in any real text (about 4 on average), so a
# text longer than max_length * this many characters is cut before tokenization: its first
# max_length tokens lie well inside the cut. Tokenizing a 10 MB string whole takes seconds on
# the one compute thread, stalling every other request, only to throw nearly all of it away.
CHARS_PER_TOKEN_BOUND = 64

# Token ids are fed to the engines as int32: anything larger cannot be a vocabulary entry and
# would overflow the conversion (a 500) instead of giving the client a 400.
_MAX_TOKEN_ID = 2**31 - 1


def normalize_inputs(
    inputs: object, *, max_inputs: int, allow_tokens: bool = True, param: str = "input"
) -> list[str | list[int]]:
    """Turn the accepted input shapes into a list of texts or a list of token-id lists.

    Texts and token ids cannot be mixed in one request: an engine batches one kind.
    """
    if isinstance(inputs, str):
        # An empty string is embedded (special tokens only): RAG pipelines produce empty
        # chunks routinely, and refusing one would fail its whole batch.
        return [inputs]
    if not isinstance(inputs, list | tuple):
        kinds = "a string or a list of strings"
        if allow_tokens:
            kinds += ", token ids or lists of token ids"
        raise InvalidRequest(f"{param} must be {kinds}", param=param)
    if not inputs:
        raise InvalidRequest(f"{param} must not be an empty list", param=param)
    if allow_tokens and _is_int(inputs[0]):
        # One tokenised input: [1, 2, 3], however long (it is truncated like a text, not
        # counted as many inputs); a bad element is named by its own index.
        _check_token_ids(inputs, param, name_element=True)
        return [list(inputs)]
    if len(inputs) > max_inputs:
        raise InvalidRequest(
            f"{param} has {len(inputs)} items; at most {max_inputs} are allowed per request",
            param=param,
        )
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


def char_limit(info: ModelInfo) -> int:
    return max(info.max_length, 1) * CHARS_PER_TOKEN_BOUND


def bound_text_lengths(
    inputs: list[str | list[int]],
    info: ModelInfo,
    *,
    truncate: bool,
    param: str = "input",
    keep_end: bool = False,
) -> list[str | list[int]]:
    """Cut texts far longer than the model can read, at a whitespace before the limit, and
    token-id lists to the model's maximum.

    With ``truncate`` false such a text is refused at once (InputTooLong): it cannot fit.
    The engine still truncates (and counts) the cut text to the model's exact maximum.
    ``keep_end`` keeps the end of the text instead (the engine keeps its last tokens).
    """
    limit = char_limit(info)
    out: list[str | list[int]] = []
    for index, item in enumerate(inputs):
        if isinstance(item, str) and len(item) > limit:
            if not truncate:
                raise InputTooLong(
                    f"{param}[{index}] has {len(item)} characters, far more than the "
                    f"{info.max_length} tokens model '{info.name}' reads; shorten it or send "
                    "truncate: true",
                    param=f"{param}[{index}]",
                )
            if keep_end:
                tail = item[-limit:]
                cut = tail.find(" ", 0, limit // 2)
                item = tail[cut + 1 :] if cut >= 0 else tail
            else:
                cut = item.rfind(" ", limit // 2, limit)
                item = item[: cut if cut > 0 else limit]
        elif isinstance(item, list) and len(item) > info.max_length:
            if not truncate:
                raise InputTooLong(
                    f"{param}[{index}] has {len(item)} token ids, more than the "
                    f"{info.max_length} model '{info.name}' reads; shorten it or send "
                    "truncate: true",
                    param=f"{param}[{index}]",
                )
            # One id past the maximum stays, so the engine still counts the input truncated.
            keep = info.max_length + 1
            item = item[-keep:] if keep_end else item[:keep]
        out.append(item)
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


def check_dimensions(dimensions: object, info: ModelInfo) -> None:
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


def check_truncate_prompt_tokens(value: object, info: ModelInfo) -> int | None:
    """vLLM's ``truncate_prompt_tokens``: keep each input's last N tokens. None or -1 (and any
    N at or above the model's maximum) mean the model's usual truncation: None."""
    if value is None or (_is_int(value) and value == -1):
        return None
    if not _is_int(value) or value < 1:  # type: ignore[operator]
        raise InvalidRequest(
            f"truncate_prompt_tokens must be -1 or an integer >= 1, got {value!r}"[:200],
            param="truncate_prompt_tokens",
        )
    return None if value >= info.max_length else int(value)  # type: ignore[operator]
