"""The metrics port: what the server tells an observer about its work.

Engines, the residency cache and the HTTP adapter call these methods; an adapter (Prometheus)
turns them into series. ``NO_METRICS`` does nothing and is the default everywhere, so code
that is not wired to an observer (tests, the CLI) pays nothing. Every method must be cheap
and must never raise: they are called on the event loop and on the compute thread.
"""

from __future__ import annotations

from typing import Protocol


class InferenceObserver(Protocol):
    """Receives measurements; model names are the installed names (bounded label values)."""

    def request_finished(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request answered: its route pattern (not the raw path), status, duration."""
        ...

    def inference(self, model: str, kind: str, tokens: int, seconds: float) -> None:
        """One request's model work (embed or rerank) finished: its tokens and duration,
        queue wait included."""
        ...

    def queue_wait(self, model: str, seconds: float) -> None:
        """A request waited this long in the model's queue before its pass started."""
        ...

    def queued_tokens(self, model: str, tokens: int) -> None:
        """Tokens queued for ``model`` right now (admission control reports it)."""
        ...

    def forward_batch(self, model: str, rows: int, padded_tokens: int, real_tokens: int) -> None:
        """One forward pass: its rows, padded size (rows x longest) and real tokens."""
        ...

    def model_loaded(self, model: str, kind: str, seconds: float) -> None:
        """A model became resident after loading for ``seconds``."""
        ...

    def model_unloaded(self, model: str, kind: str) -> None:
        """A model left memory (evicted by the LRU/TTL, deleted, or at shutdown)."""
        ...

    def pull_progress(self, started: int = 0, finished: int = 0, bytes_done: int = 0) -> None:
        """Pulls started/finished (counts) and bytes downloaded since the last call."""
        ...


class NoMetrics:
    """The observer that ignores everything (the default)."""

    def request_finished(self, route: str, method: str, status: int, seconds: float) -> None:
        pass

    def inference(self, model: str, kind: str, tokens: int, seconds: float) -> None:
        pass

    def queue_wait(self, model: str, seconds: float) -> None:
        pass

    def queued_tokens(self, model: str, tokens: int) -> None:
        pass

    def forward_batch(self, model: str, rows: int, padded_tokens: int, real_tokens: int) -> None:
        pass

    def model_loaded(self, model: str, kind: str, seconds: float) -> None:
        pass

    def model_unloaded(self, model: str, kind: str) -> None:
        pass

    def pull_progress(self, started: int = 0, finished: int = 0, bytes_done: int = 0) -> None:
        pass


NO_METRICS: InferenceObserver = NoMetrics()


class MetricsExporter(Protocol):
    """Renders the current measurements for a scraper."""

    def exposition(self) -> tuple[bytes, str]:
        """The body and its content type (Prometheus text format). Never loads a model."""
        ...
