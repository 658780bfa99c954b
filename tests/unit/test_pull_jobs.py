"""PullJobs (shared background pulls) and AutoDownloader, on a fake catalog."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mlx_serve.application.auto_download import AutoDownloader
from mlx_serve.application.pull_jobs import PullJobs
from mlx_serve.domain.errors import ModelNotFound, Overloaded, PullError
from mlx_serve.domain.models import ModelInfo
from mlx_serve.domain.ports import PullProgress
from tests.fakes.engines import make_info


class GatedCatalog:
    """Pulls block until the test opens the gate; counts the pulls that ran."""

    def __init__(self, *, fail: Exception | None = None) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.pulls: list[str] = []
        self.installed: dict[str, ModelInfo] = {}
        self.fail = fail

    def pull(self, source: str, *, progress, **options) -> ModelInfo:
        self.pulls.append(source)
        progress(PullProgress("pulling manifest"))
        progress(PullProgress("pulling w", "w", "sha256:x", 10, 5))
        self.started.set()
        assert self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        info = make_info(source.rsplit("/", 1)[-1])
        self.installed[source.casefold()] = info
        progress(PullProgress("success"))
        return info

    def resolve(self, ref: str) -> ModelInfo:
        if ref.casefold() in self.installed:
            return self.installed[ref.casefold()]
        raise ModelNotFound(ref)


async def _until(event: threading.Event) -> None:
    for _ in range(3000):  # up to 30 s on a loaded machine
        if event.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def _collect(job) -> list[str]:
    return [event.status async for event in job.events()]


def test_a_second_request_joins_the_running_pull_and_sees_its_progress():
    async def scenario():
        catalog = GatedCatalog()
        jobs = PullJobs(catalog)
        first = jobs.start("org/m")
        await _until(catalog.started)
        await asyncio.sleep(0.05)  # let the progress events reach the loop
        second = jobs.start("ORG/m")
        assert second is first and jobs.running() == [first]
        late = asyncio.ensure_future(_collect(second))
        await asyncio.sleep(0.05)
        catalog.gate.set()
        info = await first.wait()
        assert info.name == "m" and catalog.pulls == ["org/m"]
        assert await late == ["pulling manifest", "pulling w", "success"]
        assert jobs.running() == []

    asyncio.run(scenario())


def test_different_options_are_different_pulls_and_errors_reach_every_waiter():
    async def scenario():
        catalog = GatedCatalog(fail=PullError("repository 'org/m' not found", status=404))
        jobs = PullJobs(catalog)
        a, b = jobs.start("org/m"), jobs.start("org/m", quantize=4)
        assert a is not b
        catalog.gate.set()
        for job in (a, b):
            with pytest.raises(PullError, match="not found"):
                await job.wait()

    asyncio.run(scenario())


def test_auto_download_pulls_once_for_concurrent_requests():
    async def scenario():
        catalog = GatedCatalog()
        auto = AutoDownloader(catalog, PullJobs(catalog), timeout_seconds=10)
        waiters = [asyncio.ensure_future(auto.ensure("org/m")) for _ in range(3)]
        await _until(catalog.started)
        catalog.gate.set()
        await asyncio.gather(*waiters)
        assert catalog.pulls == ["org/m"]
        await auto.ensure("org/m")  # installed now: nothing to do
        assert catalog.pulls == ["org/m"]

    asyncio.run(scenario())


def test_auto_download_only_pulls_names_that_say_where_from():
    async def scenario():
        catalog = GatedCatalog()
        catalog.gate.set()
        auto = AutoDownloader(catalog, PullJobs(catalog), aliases={"mini": "org/mini"})
        await auto.ensure("plain-name")
        await auto.ensure("../etc")
        assert catalog.pulls == []
        assert auto.pullable("MINI") and auto.pullable("qwen3-embedding")
        assert auto.pullable("org/x") and not auto.pullable("org/../x")
        await auto.ensure("mini")
        assert catalog.pulls == ["mini"]

    asyncio.run(scenario())


def test_auto_download_timeout_is_overloaded_and_the_pull_goes_on():
    async def scenario():
        catalog = GatedCatalog()
        jobs = PullJobs(catalog)
        auto = AutoDownloader(catalog, jobs, timeout_seconds=0.05)
        with pytest.raises(Overloaded) as info:
            await auto.ensure("org/m")
        assert info.value.retry_after_seconds >= 1
        (job,) = jobs.running()
        catalog.gate.set()
        assert (await job.wait()).name == "m"

    asyncio.run(scenario())
