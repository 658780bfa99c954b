"""Auto-download: a request for a known model that is not installed pulls it first.

Only names that say where the model comes from are pulled: an alias (built-in or from the
settings) or a Hugging Face repo id. Concurrent requests for one model wait on the same pull
(PullJobs); a wait longer than the configured bound answers Overloaded (503 + Retry-After)
while the pull goes on in the background.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from mlx_serve.application.aliases import UserAlias, merge_aliases
from mlx_serve.application.pull_jobs import Puller, PullJobs
from mlx_serve.domain.errors import InvalidModelName, ModelNotFound, Overloaded
from mlx_serve.domain.names import validate_model_reference

RETRY_AFTER_SECONDS = 10


class AutoDownloader:
    """Makes sure a model a request names is installed, pulling it when allowed."""

    def __init__(
        self,
        catalog: Puller,
        pulls: PullJobs,
        *,
        aliases: Mapping[str, UserAlias] | None = None,
        timeout_seconds: float = 600.0,
    ) -> None:
        self._catalog = catalog
        self._pulls = pulls
        self._aliases = merge_aliases(aliases)
        self._timeout = timeout_seconds

    def pullable(self, ref: str) -> bool:
        """Whether ``ref`` names a source: an alias or a repo id (``org/name``)."""
        if ref.casefold() in self._aliases:
            return True
        try:
            return ref.count("/") == 1 and validate_model_reference(ref) == ref
        except InvalidModelName:
            return False

    async def ensure(self, ref: str) -> None:
        """Return once ``ref`` is installed, pulling it when it is not and may be pulled.

        Does nothing for names it cannot pull (the request then fails as usual with 404).
        Raises Overloaded when the pull takes longer than the bound, and what the pull
        raised when it failed (PullError for an unknown repo, ...).
        """
        try:
            await asyncio.to_thread(self._catalog.resolve, ref)
            return
        except (ModelNotFound, InvalidModelName):
            pass
        if not self.pullable(ref):
            return
        job = self._pulls.start(ref)
        try:
            # shield: a request that gives up must not cancel the pull others wait on.
            await asyncio.wait_for(asyncio.shield(job.wait()), self._timeout)
        except asyncio.TimeoutError:
            raise Overloaded(
                f"model '{ref}' is being downloaded; retry in a moment",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            ) from None
