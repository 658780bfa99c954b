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
the request that causes it. A caller cancelled before its drain started is skipped; one
cancelled (client gone) while its pass runs is withdrawn: its remaining rows are dropped.

Fair interleaving: a pass runs its length-sorted batches in time slices of about
``SLICE_SECONDS``; between slices it re-queues itself at the back of the compute thread's
FIFO queue, so whatever was submitted meanwhile (a small request's drain, another model's
job, a rerank) runs before the big pass continues. A huge request therefore delays small
ones by about one slice, not by its whole run.
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

from mlx_serve.adapters.mlx.runtime.batching import Batch, plan_batches
from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread
from mlx_serve.domain.inference import EmbedRequest, EmbedResult

if TYPE_CHECKING:  # the session module imports MLX; only its type is needed here
    from mlx_serve.adapters.mlx.embedding.session import EmbeddingSession
    from mlx_serve.adapters.mlx.pipeline.tokenization import Encoded

# One merged pass takes requests until it holds this many times the forward batch token
# budget (then at most one more request): bounds a drain's latency and memory, and leaves
# the rest for the next drain, in arrival order (no starvation).
PASS_BUDGETS = 4
# A pass yields the compute thread after this much work (checked between batches): short
# enough that a small request queued behind a huge one waits about this long, long enough
# that the re-queue hop (~50 us) is noise.
SLICE_SECONDS = 0.05


@dataclass
class MergeStats:
    """Counters of the merger (observability; tests check that merging happens)."""

    passes: int = 0  # drains that served at least one request
    requests: int = 0  # requests that reached a pass (validated)
    merged_requests: int = 0  # requests that shared their pass with another request
    largest_pass: int = 0  # most requests in one pass
    fallbacks: int = 0  # merged passes that raised and were re-run request by request
    slices: int = 0  # times a pass yielded the compute thread to queued work
    withdrawn: int = 0  # requests dropped mid-pass because their caller went away


class RequestFuture(Future[EmbedResult]):
    """A request's future; ``withdraw()`` also reaches a request whose pass is running."""

    withdrawn = False

    def withdraw(self) -> None:
        """The caller went away: cancel if not started, else drop its remaining rows."""
        if not self.cancel():
            self.withdrawn = True


@dataclass
class _Pending:
    request: EmbedRequest
    future: RequestFuture
    queued_at: float = field(default_factory=time.perf_counter)

    @property
    def withdrawn(self) -> bool:
        return self.future.withdrawn


@dataclass
class _Pass:
    """A drain's requests and the batches still to run (state kept between slices)."""

    taken: list[tuple[_Pending, list[Encoded]]]
    rows: list[Encoded]  # every request's inputs, concatenated in request order
    owner: list[int]  # index into ``taken`` of each row
    batches: list[Batch]
    vectors: np.ndarray | None = None
    next_batch: int = 0


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

    def submit(self, request: EmbedRequest) -> RequestFuture:
        """Queue ``request``; the future resolves to its result (or its own error).

        Cancelling the future before its drain starts withdraws the request;
        ``future.withdraw()`` also drops the rows of a request whose pass already runs.
        """
        pending = _Pending(request, RequestFuture())
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
        rows = [e for _, encoded in taken for e in encoded]
        owner = [n for n, (_, encoded) in enumerate(taken) for _ in encoded]
        budget = self._session_of().max_batch_tokens  # live: _take just used it
        batches = plan_batches([len(e.ids) for e in rows], budget)
        self._step(_Pass(taken, rows, owner, batches))

    def _step(self, work: _Pass) -> None:
        """Run batches of ``work`` for one time slice, then re-queue the rest (compute thread)."""
        try:
            session = self._session_of()
        except Exception as error:  # unloaded between slices
            for pending, _ in work.taken:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        if work.vectors is None:
            work.vectors = np.zeros((len(work.rows), session.dimensions), dtype=np.float32)
        deadline = time.monotonic() + SLICE_SECONDS
        while work.next_batch < len(work.batches):
            if all(pending.withdrawn for pending, _ in work.taken):
                self._drop_withdrawn(work)
                return
            batch = work.batches[work.next_batch]
            work.next_batch += 1
            live = [i for i in batch.indices if not work.taken[work.owner[i]][0].withdrawn]
            if live:
                try:
                    work.vectors[live] = session.forward_all([work.rows[i] for i in live])
                except Exception as error:
                    self._fall_back(work, session, error)
                    return
            if work.next_batch < len(work.batches) and time.monotonic() > deadline:
                self.stats.slices += 1
                try:
                    self._compute.submit(self._step, work)
                    return
                except RuntimeError:  # closing: finish the pass here instead
                    deadline = float("inf")
        start = 0
        for pending, encoded in work.taken:
            rows = work.vectors[start: start + len(encoded)]
            start += len(encoded)
            if pending.withdrawn:
                self._drop(pending)
            else:
                self._settle(pending, lambda r=rows: r, session, encoded)

    def _fall_back(self, work: _Pass, session: EmbeddingSession, error: Exception) -> None:
        """A batch raised: with one request, that is its error; with several, re-run each
        request alone so the error reaches only the request that causes it."""
        if len(work.taken) == 1:
            work.taken[0][0].future.set_exception(error)
            return
        self.stats.fallbacks += 1
        for pending, encoded in work.taken:
            if pending.withdrawn:
                self._drop(pending)
            else:
                self._settle(pending, lambda e=encoded: session.forward_all(e), session,
                             encoded)

    def _drop_withdrawn(self, work: _Pass) -> None:
        for pending, _ in work.taken:
            self._drop(pending)

    def _drop(self, pending: _Pending) -> None:
        """Resolve a withdrawn request's future (nobody awaits it) without computing it."""
        self.stats.withdrawn += 1
        if not pending.future.done():
            pending.future.set_exception(ConnectionAbortedError("the caller went away"))

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
                limit = PASS_BUDGETS * session.max_batch_tokens
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
