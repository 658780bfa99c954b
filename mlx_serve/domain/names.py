"""Model names: what an installed model may be called, so no name can escape the store."""

from __future__ import annotations

import unicodedata

from mlx_serve.domain.errors import InvalidModelName

MAX_NAME_LENGTH = 200


def validate_model_name(name: object, *, param: str = "model") -> str:
    """Return ``name`` when it is safe as one directory name inside the models directory.

    Raises InvalidModelName for: a non-string, an empty name, a path separator, ``..``,
    a leading dot, control characters, or more than MAX_NAME_LENGTH characters.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidModelName("model name must be a non-empty string", param=param)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidModelName(
            f"model name is longer than {MAX_NAME_LENGTH} characters", param=param
        )
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidModelName("model name contains control characters", param=param)
    if "/" in name or "\\" in name:
        raise InvalidModelName(
            f"model name '{name}' contains a path separator", param=param
        )
    if ".." in name or name.startswith("."):
        raise InvalidModelName(
            f"model name '{name}' may not contain '..' or start with '.'", param=param
        )
    if name != name.strip():
        raise InvalidModelName("model name has leading or trailing spaces", param=param)
    return name


def validate_model_reference(ref: object, *, param: str = "model") -> str:
    """Validate a name a client uses to address a model: an installed name, an alias, or a
    Hugging Face repo id (``org/name``, exactly one slash, each part a safe name)."""
    if isinstance(ref, str) and ref.count("/") == 1:
        org, repo = ref.split("/")
        validate_model_name(org, param=param)
        validate_model_name(repo, param=param)
        return ref
    return validate_model_name(ref, param=param)
