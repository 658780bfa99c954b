"""One dedicated thread on which every MLX call runs.

MLX streams and their command encoders are thread-local: arrays made on one thread and
evaluated on another fail (``asyncio.to_thread`` hops between pool threads). Funnelling all
MLX work through one thread also serialises it, which is what a single accelerator wants.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class ComputeThread:
    """A single worker thread for MLX work, usable from async and sync code."""

    def __init__(self, name: str = "mlx-compute") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._thread_id: int | None = None
        self._closed = False
        # Learn the worker's identity so call() can run inline when already on it
        # (a nested call would otherwise deadlock waiting on its own queue).
        self._thread_id = self._executor.submit(threading.get_ident).result()

    @property
    def on_thread(self) -> bool:
        """Whether the caller is running on the compute thread."""
        return threading.get_ident() == self._thread_id

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` on the compute thread and await its result.

        The event loop stays free meanwhile; exceptions raised by ``fn`` propagate.
        Calls run one at a time, in submission order. Raises RuntimeError after close().
        """
        if self.on_thread:
            return fn(*args)
        future = self._executor.submit(fn, *args)
        return await asyncio.wrap_future(future)

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        """Queue ``fn(*args)`` on the compute thread without waiting for it.

        For fire-and-forget jobs that report through their own channel (request_merger).
        Raises RuntimeError after close().
        """
        return self._executor.submit(fn, *args)

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` on the compute thread, blocking the caller until it finishes.

        For synchronous callers (CLI, tests, benchmarks). Never call it from the event loop.
        """
        if self.on_thread:
            return fn(*args)
        return self._executor.submit(fn, *args).result()

    def close(self) -> None:
        """Finish queued work and stop the thread. Idempotent."""
        if not self._closed:
            self._closed = True
            self._executor.shutdown(wait=True)
