"""Retries of transient Hub failures, and the final errors for the ones retrying cannot fix.

Transient: connection errors, timeouts, a connection cut mid-body, 408/429/5xx answers, a
downloaded file that fails verification. Everything else is turned into a PullError at once,
with a message a person can act on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx2
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from loguru import logger
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from mlx_serve.domain.errors import PullError

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class CorruptDownload(Exception):
    """A finished file whose size or sha256 does not match the Hub's listing (retried)."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (httpx2.TransportError, CorruptDownload, TimeoutError, ConnectionError)):
        return not isinstance(exc, OfflineModeIsEnabled)
    if isinstance(exc, HfHubHTTPError):
        response = getattr(exc, "response", None)
        return response is not None and response.status_code in TRANSIENT_STATUS
    return False


def _retry_after(exc: BaseException | None) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class Backoff:
    """Exponential backoff (``base * 2**n`` up to ``maximum``), or the server's Retry-After."""

    def __init__(self, attempts: int = 6, base: float = 0.5, maximum: float = 30.0) -> None:
        self.attempts = attempts
        self.base = base
        self.maximum = maximum

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = _retry_after(exc)
        if hinted is not None:
            return min(hinted, self.maximum)
        return min(self.base * 2 ** (state.attempt_number - 1), self.maximum)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying transient failures; raise PullError once retrying is over."""

        def log(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.warning(
                "{} failed ({}), attempt {}/{}; retrying",
                what, _short(exc) if exc else "?", state.attempt_number, self.attempts,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception(is_transient),
            before_sleep=log,
            reraise=True,
        )
        try:
            return retrying(fn)
        except Exception as exc:
            if is_transient(exc):
                raise PullError(
                    f"{what} failed after {self.attempts} attempts: {_short(exc)}", status=502
                ) from exc
            raise


def final_error(exc: Exception, repo_id: str, revision: str | None, endpoint: str) -> Exception:
    """The PullError to raise for a Hub error retrying cannot fix (``exc`` when unknown)."""
    if isinstance(exc, GatedRepoError):
        return PullError(
            f"'{repo_id}' is a gated repository: accept its terms on the Hub, then set HF_TOKEN "
            "to a token of that account",
            status=401,
        )
    if isinstance(exc, RepositoryNotFoundError):
        return PullError(
            f"repository '{repo_id}' not found on {endpoint} (check the name; a private "
            "repository needs HF_TOKEN)",
            status=404,
        )
    if isinstance(exc, RevisionNotFoundError):
        return PullError(f"revision '{revision}' not found in '{repo_id}'", status=404)
    if isinstance(exc, RemoteEntryNotFoundError):
        return PullError(f"a file of '{repo_id}' vanished from the Hub: {_short(exc)}", status=404)
    if isinstance(exc, HFValidationError):
        return PullError(f"'{repo_id}' is not a valid Hugging Face repo id: {_short(exc)}")
    if isinstance(exc, OfflineModeIsEnabled):
        return PullError(f"cannot download '{repo_id}': offline mode (HF_HUB_OFFLINE) is on")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else 502
        return PullError(f"the Hub refused '{repo_id}': {_short(exc)}", status=status)
    return exc


def _short(exc: BaseException) -> str:
    """The first line of an exception's message (Hub errors carry long multi-line texts)."""
    if isinstance(exc, httpx2.ConnectTimeout):
        return "no connection within the timeout (MLX_SERVE_HUB_TIMEOUT_SECONDS)"
    if isinstance(exc, httpx2.TimeoutException):
        return (
            "connected, but no answer came within the timeout (MLX_SERVE_HUB_TIMEOUT_SECONDS)"
        )
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
