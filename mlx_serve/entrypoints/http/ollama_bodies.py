"""Request bodies of the Ollama-compatible routes and the checks they share."""

from __future__ import annotations

import math
from typing import Any

from pydantic import StrictBool, StrictInt, StrictStr

from mlx_serve.domain.errors import InvalidRequest
from mlx_serve.domain.models import ModelType
from mlx_serve.domain.names import validate_model_reference
from mlx_serve.entrypoints.http.schemas import RequestBody

DTYPES = ("float16", "bfloat16", "float32")
QUANTIZE_BITS = (4, 8)
# Ollama tooling (Open WebUI, the CLI) appends the default tag; our models have no tags.
_DEFAULT_TAG = ":latest"


class NamedBody(RequestBody):
    """Bodies naming one model: Ollama accepts ``model`` and, from older clients, ``name``."""

    model: StrictStr | None = None
    name: StrictStr | None = None

    def reference(self) -> str:
        """The model reference, validated (no path escapes, no control characters)."""
        ref = self.model if self.model is not None else self.name
        if ref is None:
            raise InvalidRequest("'model' is required", param="model")
        return model_reference(ref)


class PullBody(NamedBody):
    stream: StrictBool = True
    type: StrictStr | None = None
    quantize: StrictInt | None = None
    dtype: StrictStr | None = None
    revision: StrictStr | None = None
    force: StrictBool = False
    keep_original: StrictBool = False
    insecure: Any = None  # sent by the ollama SDK; meaningless here

    def options(self) -> dict[str, Any]:
        """ModelCatalog.pull keyword arguments, checked before anything starts."""
        model_type = ModelType.parse(self.type) if self.type is not None else None
        if self.quantize is not None and self.quantize not in QUANTIZE_BITS:
            raise InvalidRequest("quantize must be 4 or 8 (bits)", param="quantize")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise InvalidRequest(
                f"unknown dtype '{self.dtype}' (expected one of: {', '.join(DTYPES)})",
                param="dtype",
            )
        if self.revision is not None and (not self.revision.strip() or any(
            ord(ch) < 32 or ord(ch) == 127 for ch in self.revision
        )):
            raise InvalidRequest("revision must be a branch, tag or commit", param="revision")
        options: dict[str, Any] = {
            "model_type": model_type,
            "quantize": self.quantize,
            "dtype": self.dtype,
            "revision": self.revision,
            "force": self.force,
            "keep_original": self.keep_original,
        }
        return {key: value for key, value in options.items() if value not in (None, False)}


class EmbedBody(RequestBody):
    model: StrictStr
    input: Any = None
    truncate: StrictBool = True
    dimensions: StrictInt | None = None
    keep_alive: Any = None
    options: Any = None
    input_type: StrictStr | None = None
    prompt_name: StrictStr | None = None


class LegacyEmbeddingsBody(RequestBody):
    model: StrictStr
    prompt: Any = None
    keep_alive: Any = None
    options: Any = None


def model_reference(ref: str) -> str:
    """``ref`` without Ollama's ``:latest`` tag, validated as a model reference."""
    if ref.endswith(_DEFAULT_TAG) and len(ref) > len(_DEFAULT_TAG):
        ref = ref[: -len(_DEFAULT_TAG)]
    return validate_model_reference(ref)


def text_inputs(value: Any) -> str | list[str]:
    """``input`` of ``/api/embed``: a string or a list of strings (token ids are refused)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    if value is None:
        raise InvalidRequest("'input' is required", param="input")
    raise InvalidRequest(
        "input must be a string or a list of strings (token ids are not accepted here)",
        param="input",
    )


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
# The longest keep_alive accepted; a negative one already means "forever". Larger values are
# refused rather than clamped: 1e15 s is a mistake (or an attack on /health's dates).
MAX_KEEP_ALIVE_SECONDS = 365 * 24 * 3600


def keep_alive_seconds(value: Any) -> float | None:
    """Ollama's ``keep_alive`` (seconds, or ``"5m"``-style); None for the server default.

    A negative value means "keep loaded indefinitely", as in Ollama: it is passed on as -1,
    which the residency cache reads as "never expires".
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return _forever_if_negative(float(value), value)
        except OverflowError:  # an integer too large for a float
            if value < 0:
                return -1.0
            raise _too_long(value) from None
    if isinstance(value, str):
        text = value.strip().lower()
        for unit in sorted(_UNITS, key=len, reverse=True):
            if text.endswith(unit):
                number = text[: -len(unit)]
                break
        else:
            unit, number = "s", text
        try:
            seconds = float(number) * _UNITS[unit]
        except ValueError:
            raise InvalidRequest(f"invalid keep_alive '{value}'", param="keep_alive") from None
        return _forever_if_negative(seconds, value)
    raise InvalidRequest("keep_alive must be a number of seconds or a duration such as '5m'",
                         param="keep_alive")


def _forever_if_negative(seconds: float, value: Any) -> float:
    if math.isnan(seconds):
        raise InvalidRequest(f"invalid keep_alive '{value}'", param="keep_alive")
    if seconds < 0:
        return -1.0
    if seconds > MAX_KEEP_ALIVE_SECONDS:
        raise _too_long(value)
    return seconds


def _too_long(value: Any) -> InvalidRequest:
    return InvalidRequest(
        f"keep_alive {str(value)[:40]} is out of range: at most {MAX_KEEP_ALIVE_SECONDS} "
        "seconds (365 days); a negative value keeps the model loaded indefinitely",
        param="keep_alive",
    )
