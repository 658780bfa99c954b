"""A ModelRepository serving a fixed set of sources, recording what it was asked."""

from __future__ import annotations

from pathlib import Path

from mlx_serve.domain.errors import PullError
from mlx_serve.domain.ports import FetchedCheckpoint, ProgressCallback, PullProgress


class FakeModelRepository:
    """Handles exactly the sources given; ``failures`` maps a source to the error it raises."""

    def __init__(
        self,
        sources: list[str],
        *,
        revision: str | None = "abc123",
        failures: dict[str, Exception] | None = None,
    ) -> None:
        self.sources = set(sources)
        self.revision = revision
        self.failures = failures or {}
        self.fetched: list[tuple[str, str | None]] = []

    accepts = "one of the fake repository's sources"

    def handles(self, source: str) -> bool:
        return source in self.sources

    def fetch(
        self, source: str, revision: str | None, progress: ProgressCallback
    ) -> FetchedCheckpoint:
        self.fetched.append((source, revision))
        if source in self.failures:
            raise self.failures[source]
        if source not in self.sources:
            raise PullError(f"unknown source {source}")
        progress(PullProgress("pulling model.safetensors", total=10, completed=10))
        return FetchedCheckpoint(
            directory=Path("/fake-checkpoints") / source,
            source=source,
            revision=revision or self.revision,
        )
