"""Errors the application raises; driving adapters map them to status codes.

Every error carries a message a person can act on. ``param`` names the offending request
field where there is one (``input[3]``), so the HTTP layer can echo it.
"""

from __future__ import annotations


class MlxServeError(Exception):
    """Base of every error mlx-serve raises on purpose."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidRequest(MlxServeError):
    """The request is malformed or asks for something the model cannot do (HTTP 400)."""


class InvalidModelName(InvalidRequest):
    """A model name that could escape the models directory or is otherwise unusable."""


class InputTooLong(InvalidRequest):
    """An input is longer than the model's maximum and the client asked not to truncate."""


class ModelNotFound(MlxServeError):
    """No installed model answers to this name (HTTP 404)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"model '{name}' not found", param="model")
        self.name = name


class WrongModelType(InvalidRequest):
    """The model exists but is of the other kind (an embedding model asked to rerank)."""

    def __init__(self, name: str, actual: str, wanted: str) -> None:
        super().__init__(
            f"model '{name}' is {_article(actual)} {actual} model and cannot be used for {wanted}",
            param="model",
        )


class ModelAlreadyExists(MlxServeError):
    """Installing would overwrite an installed model and ``force`` was not given (HTTP 409)."""


class ModelLoadError(MlxServeError):
    """An installed model's files cannot be loaded (broken or unsupported checkpoint)."""


class UnsupportedModel(InvalidRequest):
    """A checkpoint whose architecture or layout mlx-serve cannot serve."""


class PullError(MlxServeError):
    """A model could not be fetched from its source; retrying the same way will not help."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Overloaded(MlxServeError):
    """The server cannot take this request now; the client should retry later (HTTP 503)."""

    def __init__(self, message: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class QueueFull(MlxServeError):
    """The model's queue already holds its bound of work; retry later (HTTP 429)."""

    def __init__(self, message: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ServiceError(MlxServeError):
    """The OS service manager (systemd --user, launchd) is unavailable or refused a command."""


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


class RequestTooCostly(InvalidRequest):
    """A request would cost more tokens than the server's per-request bound (HTTP 413)."""
