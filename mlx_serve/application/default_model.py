"""The model a request means when it names none (TEI's and vLLM's score clients send none)."""

from __future__ import annotations

from collections.abc import Iterable

from mlx_serve.domain.errors import InvalidRequest
from mlx_serve.domain.models import ModelInfo, ModelType


def only_model(infos: Iterable[ModelInfo], model_type: ModelType) -> str:
    """The name of the one installed model of ``model_type``; InvalidRequest naming ``model``
    when there is none or more than one (then the client must choose)."""
    names = sorted(info.name for info in infos if info.type is model_type)
    if len(names) == 1:
        return names[0]
    if not names:
        raise InvalidRequest(
            f"'model' is required: no {model_type.value} model is installed", param="model"
        )
    raise InvalidRequest(
        f"'model' is required when several {model_type.value} models are installed: "
        + ", ".join(names),
        param="model",
    )
