"""JSON response bodies, encoded with orjson.

Encoding float vectors was the largest single cost of an embeddings response: orjson writes
numpy float32 rows directly (``OPT_SERIALIZE_NUMPY``, the shortest text that reads back to
the same float32) instead of building a Python list of floats per row. Response models are
pydantic models built with ``model_construct`` (no validation of data we made ourselves);
only the fields that were set are written, so optional fields (``document``) are absent
rather than ``null``.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel
from sanic.response import HTTPResponse, raw

# NON_STR_KEYS: dict keys that are not strings become strings, as the json module does.
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _fields(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {k: v for k, v in value.__dict__.items() if k in value.model_fields_set}
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(payload: Any, **_: Any) -> bytes:
    """``payload`` as JSON bytes (dicts, lists, pydantic models, numpy arrays and scalars).

    NaN and Inf must never reach this point (orjson would write ``null``): callers refuse
    non-finite vectors and scores before building a response.
    """
    return orjson.dumps(payload, default=_fields, option=_OPTIONS)


def json_response(
    payload: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> HTTPResponse:
    """A ``200 application/json`` response (or ``status``) with ``payload`` as its body."""
    return raw(dumps(payload), status=status, content_type="application/json", headers=headers)
