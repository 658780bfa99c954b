"""Request bodies as pydantic models; a validation failure becomes InvalidRequest naming the field.

Only the JSON shape is checked here (types, required fields); what a value means for a model
(empty strings, too many inputs, ``dimensions`` over the model's size) is the application
services' job, so every driving adapter rejects the same things. Unknown fields are ignored:
clients send extras such as ``user``.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr, ValidationError
from sanic import Request

from mlx_serve.domain.errors import InvalidRequest

T = TypeVar("T", bound=BaseModel)


class RequestBody(BaseModel):
    """Base of every request body: extras ignored, nothing coerced (JSON types are exact)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class EmbeddingsBody(RequestBody):
    """``POST /v1/embeddings``. ``input``'s shapes are validated by EmbeddingService."""

    model: StrictStr
    input: Any
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: StrictInt | None = None
    instruction: StrictStr | None = None
    truncate: StrictBool = True
    # What token ids mean: OpenAI's cl100k_base ids (decoded to text) or the model's own.
    token_id_vocabulary: Literal["cl100k_base", "model"] | None = None
    # vLLM's: keep only the last N tokens of each input (-1: the model's maximum).
    truncate_prompt_tokens: StrictInt | None = None
    input_type: StrictStr | None = None
    prompt_name: StrictStr | None = None


class TokenizeBody(RequestBody):
    """``POST /v1/tokenize``."""

    model: StrictStr
    input: Any


def param_name(loc: tuple[Any, ...]) -> str | None:
    """``("input", 3, "text")`` -> ``input[3].text``: how OpenAI names a field."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or None


def read_json(request: Request) -> Any:
    """The request body as JSON; InvalidRequest when it is missing or not JSON."""
    raw = request.body
    if not raw or not raw.strip():
        raise InvalidRequest("request body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}"[:500]) from None


def parse_body(request: Request, schema: type[T]) -> T:
    """Parse and validate the JSON body against ``schema``."""
    data = read_json(request)
    if not isinstance(data, dict):
        raise InvalidRequest("request body must be a JSON object")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = param_name(tuple(first["loc"]))
        message = first["msg"]
        if first["type"] == "missing":
            message = f"'{param}' is required"
        elif param:
            message = f"invalid '{param}': {message}, got {_shown(first.get('input'))}"
        raise InvalidRequest(message, param=param) from None


def _shown(value: Any, limit: int = 100) -> str:
    """The offending value, as JSON would spell it, cut short (clients echo it to people)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
