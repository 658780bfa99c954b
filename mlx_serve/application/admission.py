"""Admission control: a bound on the work queued for each model, in (estimated) tokens.

A request is admitted when its model's queue holds less than ``max_queued_tokens``
(requests admitted and not yet answered, the running ones included); past the bound it is
refused at once with QueueFull (HTTP 429 + Retry-After) instead of waiting without bound
and holding memory. A request finds an empty queue always admitted, however large it is
(the per-request limits bound it), so no legal request is refused forever.

Costs are estimated before any work, from characters: about four characters a token for
text (English BPE/WordPiece; a bound, not a bill), the length for token-id inputs, each
capped at the model's maximum. Retry-After is the queued tokens divided by the tokens/s the
model served over the last few seconds (1 s while nothing has been measured yet).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from mlx_serve.domain.errors import QueueFull
from mlx_serve.domain.metrics import NO_METRICS, InferenceObserver

CHARS_PER_TOKEN = 4
RATE_WINDOW_SECONDS = 10.0
MAX_RETRY_AFTER = 60


def text_tokens(text: str, max_length: int) -> int:
    """Estimated tokens of one text (specials included), at most ``max_length``."""
    return min(max_length, len(text) // CHARS_PER_TOKEN + 2)


def queued_embed_tokens(inputs: Sequence[object], max_length: int) -> int:
    """Estimated tokens of an embedding request's inputs (texts or token-id lists)."""
    total = 0
    for item in inputs:
        if isinstance(item, str):
            total += text_tokens(item, max_length)
        else:
            total += min(max_length, len(item))  # type: ignore[arg-type]
    return max(1, total)


def queued_rerank_tokens(query: str, documents: Sequence[str], max_length: int) -> int:
    """Estimated tokens of a rerank request: every pair holds the query and one document."""
    return max(1, sum(text_tokens(query + document, max_length) for document in documents))


class AdmissionControl:
    """Per-model queued-token accounting; the bound is fixed at construction."""

    def __init__(self, max_queued_tokens: int,
                 clock: Callable[[], float] = time.monotonic, *,
                 observer: InferenceObserver = NO_METRICS) -> None:
        if max_queued_tokens < 1:
            raise ValueError("max_queued_tokens must be at least 1")
        self.max_queued_tokens = max_queued_tokens
        self._clock = clock
        self._observer = observer  # told the queued tokens of a model whenever they change
        self._queued: dict[str, int] = {}
        self._served: dict[str, deque[tuple[float, int]]] = {}  # (when, tokens) recently

    def queued(self, model: str) -> int:
        """Estimated tokens admitted for ``model`` and not answered yet."""
        return self._queued.get(model, 0)

    @contextmanager
    def admit(self, model: str, tokens: int) -> Iterator[None]:
        """Hold ``tokens`` of ``model``'s queue for the body of the ``with``.

        Raises QueueFull when the queue is not empty and would pass the bound. The tokens
        are released however the body ends (answered, failed, or cancelled because the
        client went away). Event-loop code only: not thread-safe.
        """
        queued = self.queued(model)
        if queued and queued + tokens > self.max_queued_tokens:
            raise QueueFull(
                f"model '{model}' has {queued} tokens of work queued (the bound is "
                f"{self.max_queued_tokens}, MLX_SERVE_MAX_QUEUED_TOKENS); retry later",
                retry_after_seconds=self._retry_after(model, queued))
        self._queued[model] = queued + tokens
        self._observer.queued_tokens(model, queued + tokens)
        answered = False
        try:
            yield
            answered = True
        finally:
            left = self._queued[model] - tokens
            if left:
                self._queued[model] = left
            else:
                del self._queued[model]
            self._observer.queued_tokens(model, left)
            if answered:
                self._served.setdefault(model, deque()).append((self._clock(), tokens))

    def _retry_after(self, model: str, queued: int) -> int:
        served = self._served.get(model)
        now = self._clock()
        while served and now - served[0][0] > RATE_WINDOW_SECONDS:
            served.popleft()
        if not served:
            return 1
        span = max(now - served[0][0], 1.0)
        rate = sum(tokens for _, tokens in served) / span
        return max(1, min(MAX_RETRY_AFTER, math.ceil(queued / rate)))
