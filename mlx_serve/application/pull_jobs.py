"""Pulls running in the background of the server, shared by everyone who asks for them.

A pull started over HTTP keeps going when its client disconnects, and a second request for
the same model joins the running pull instead of starting another: it sees the progress so
far (the latest event of each stage) and then every new event. Across processes (a CLI pull
beside the server) the download itself is shared by the Hub adapter's file lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlx_serve.domain.metrics import NO_METRICS, InferenceObserver
from mlx_serve.domain.models import ModelInfo
from mlx_serve.domain.ports import PullProgress


class Puller(Protocol):
    """The part of ModelCatalog pull jobs need."""

    def pull(self, source: str, **options: Any) -> ModelInfo: ...

    def resolve(self, ref: str) -> ModelInfo: ...


@dataclass
class PullJob:
    """One pull in flight (or finished): its progress so far and its outcome."""

    key: str
    source: str
    latest: dict[str, PullProgress] = field(default_factory=dict)
    result: ModelInfo | None = None
    error: BaseException | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _listeners: list[asyncio.Queue[PullProgress | None]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def publish(self, event: PullProgress) -> None:
        """Record and fan out one event (on the event loop)."""
        self.latest[event.status] = event
        for queue in self._listeners:
            queue.put_nowait(event)

    def finish(self, result: ModelInfo | None, error: BaseException | None) -> None:
        self.result, self.error = result, error
        self.done.set()
        for queue in self._listeners:
            queue.put_nowait(None)

    async def events(self) -> AsyncIterator[PullProgress]:
        """Progress so far, then live events until the pull ends (the outcome is on the job)."""
        queue: asyncio.Queue[PullProgress | None] = asyncio.Queue()
        for event in list(self.latest.values()):
            queue.put_nowait(event)
        if self.done.is_set():
            queue.put_nowait(None)
        self._listeners.append(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._listeners.remove(queue)

    async def wait(self) -> ModelInfo:
        """The installed model once the pull is over; raises what the pull raised."""
        await self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class PullJobs:
    """The registry of pulls in flight, keyed by what is pulled and how."""

    def __init__(
        self,
        catalog: Puller,
        *,
        run_blocking: Callable[..., Any] = asyncio.to_thread,
        observer: InferenceObserver = NO_METRICS,
    ) -> None:
        self._catalog = catalog
        self._observer = observer  # pulls in progress, bytes downloaded
        self._run_blocking = run_blocking
        self._jobs: dict[str, PullJob] = {}

    def running(self) -> list[PullJob]:
        return [job for job in self._jobs.values() if not job.done.is_set()]

    def start(self, source: str, **options: Any) -> PullJob:
        """The running pull of ``source`` with these options, or a new one (call on the loop).

        ``options`` are ModelCatalog.pull's keyword arguments except ``progress``.
        """
        key = _key(source, options)
        job = self._jobs.get(key)
        if job is not None and not job.done.is_set():
            return job
        job = PullJob(key=key, source=source)
        self._jobs[key] = job
        job._task = asyncio.get_running_loop().create_task(self._run(job, options))
        return job

    async def _run(self, job: PullJob, options: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        done_by_file: dict[str, int] = {}  # per-file byte counts are cumulative: send deltas

        def progress(event: PullProgress) -> None:  # called on the pull's worker thread
            if event.file is not None and event.completed is not None:
                before = done_by_file.get(event.file, 0)
                done_by_file[event.file] = max(before, event.completed)
                self._observer.pull_progress(bytes_done=event.completed - before)
            loop.call_soon_threadsafe(job.publish, event)

        self._observer.pull_progress(started=1)
        try:
            info = await self._run_blocking(
                lambda: self._catalog.pull(job.source, progress=progress, **options)
            )
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter
            job.finish(None, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        else:
            job.finish(info, None)
        finally:
            self._observer.pull_progress(finished=1)
            # A finished job is not joined again: the next request sees the installed model.
            if self._jobs.get(job.key) is job:
                del self._jobs[job.key]


def _key(source: str, options: dict[str, Any]) -> str:
    parts = [source.casefold()] + [f"{k}={options[k]}" for k in sorted(options)]
    return "|".join(parts)
