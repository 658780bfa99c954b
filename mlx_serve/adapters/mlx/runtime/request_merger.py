"""Cross-request (dynamic) batching of the embed() calls of one loaded model.

Each request only sorts and batches its own inputs, so concurrent small requests each pay
for their own padding and small batches. Here every embed() call joins a per-model queue
and queues one *drain* job on the compute thread. A drain takes what is already queued
(oldest first, up to a token bound), validates and tokenises each request on its own,
runs all their inputs as one length-sorted, token-budget-batched pass, and hands each
caller its own rows. While the thread is busy, requests pile up and the next drain merges
them; a lone request is drained at once (nothing ever waits for company). Drains that find
the queue empty (an earlier drain took their request) do nothing.

Parameters are applied per request, so any requests of one model merge: the instruction
and truncation are applied when each request is tokenised (``EmbeddingSession.prepare``),
``dimensions`` when its rows are cut out of the pooled vectors (``finish``).

Isolation: a request that fails validation fails alone, before merging; if the merged
forward pass itself raises, every request of it is re-run alone so an error reaches only
the request that causes it. A caller cancelled before its drain started is skipped.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread
from mlx_serve.domain.inference import EmbedRequest, EmbedResult

if TYPE_CHECKING:  # the session module imports MLX; only its type is needed here
    from mlx_serve.adapters.mlx.embedding.session import EmbeddingSession
    from mlx_serve.adapters.mlx.pipeline.tokenization import Encoded

# One merged pass takes requests until it holds this many times the forward batch token
# budget (then at most one more request): bounds a drain's latency and memory, and leaves
# the rest for the next drain, in arrival order (no starvation).
PASS_BUDGETS = 4


@dataclass
class MergeStats:
    """Counters of the merger (observability; tests check that merging happens)."""

    passes: int = 0  # drains that served at least one request
    requests: int = 0  # requests that reached a pass (validated)
    merged_requests: int = 0  # requests that shared their pass with another request
    largest_pass: int = 0  # most requests in one pass
    fallbacks: int = 0  # merged passes that raised and were re-run request by request


@dataclass
class _Pending:
    request: EmbedRequest
    future: Future[EmbedResult]
    queued_at: float = field(default_factory=time.perf_counter)


class RequestMerger:
    """The per-model queue; ``session_of`` returns the live session or raises
    ModelLoadError once the model is unloaded (called on the compute thread only)."""

    def __init__(self, compute: ComputeThread,
                 session_of: Callable[[], EmbeddingSession]) -> None:
        self._compute = compute
        self._session_of = session_of
        self._queue: deque[_Pending] = deque()
        self._lock = threading.Lock()  # callers append on their threads, drains pop
        self.stats = MergeStats()  # only written on the compute thread

    def submit(self, request: EmbedRequest) -> Future[EmbedResult]:
        """Queue ``request``; the future resolves to its result (or its own error).

        Cancelling the future before its drain starts withdraws the request.
        """
        pending = _Pending(request, Future())
        with self._lock:
            self._queue.append(pending)
        try:
            self._compute.submit(self._drain)
        except RuntimeError:  # compute thread closed: no drain would ever see it
            with self._lock:
                if pending in self._queue:
                    self._queue.remove(pending)
            raise
        return pending.future

    def _drain(self) -> None:
        """Serve what is queued now (compute thread). Never raises: errors go to futures."""
        taken = self._take()
        if not taken:
            return
        self.stats.passes += 1
        self.stats.requests += len(taken)
        self.stats.largest_pass = max(self.stats.largest_pass, len(taken))
        if len(taken) > 1:
            self.stats.merged_requests += len(taken)
        session = self._session_of()  # _take just succeeded with it, so it is live
        try:
            vectors = session.forward_all([e for _, encoded in taken for e in encoded])
        except Exception as error:
            if len(taken) == 1:
                taken[0][0].future.set_exception(error)
                return
            # Isolate whatever failed: each request alone, so it fails only its caller.
            self.stats.fallbacks += 1
            for pending, encoded in taken:
                self._settle(pending, lambda e=encoded: session.forward_all(e), session,
                             encoded)
            return
        start = 0
        for pending, encoded in taken:
            rows = vectors[start: start + len(encoded)]
            start += len(encoded)
            self._settle(pending, lambda r=rows: r, session, encoded)

    def _take(self) -> list[tuple[_Pending, list[Encoded]]]:
        """Pop queued requests, oldest first, validating and tokenising each one alone."""
        taken: list[tuple[_Pending, list[Encoded]]] = []
        tokens = 0
        limit: int | None = None
        while limit is None or tokens < limit:
            with self._lock:
                if not self._queue:
                    break
                pending = self._queue.popleft()
            if not pending.future.set_running_or_notify_cancel():
                continue  # its caller went away before we started it
            try:
                session = self._session_of()
                limit = PASS_BUDGETS * session.runtime.max_batch_tokens
                encoded = session.prepare(pending.request)
                session.runtime.observer.queue_wait(
                    session.name, time.perf_counter() - pending.queued_at)
            except Exception as error:  # this request's own fault (or the model is gone)
                pending.future.set_exception(error)
                continue
            taken.append((pending, encoded))
            tokens += sum(len(e.ids) for e in encoded)
        return taken

    @staticmethod
    def _settle(pending: _Pending, vectors_of: Callable[[], np.ndarray],
                session: EmbeddingSession, encoded: list[Encoded]) -> None:
        """Finish one request from its rows; any error goes to that request only."""
        try:
            rows = vectors_of()
            pending.future.set_result(session.finish(pending.request, encoded, rows))
        except Exception as error:
            pending.future.set_exception(error)
