"""A clock the test moves by hand."""

from __future__ import annotations


class FakeClock:
    """Clock port whose time only moves when ``advance`` is called.

    ``wall()`` is ``now()`` plus a fixed epoch offset, so expiry timestamps are predictable.
    """

    def __init__(self, start: float = 1000.0, epoch: float = 1_700_000_000.0) -> None:
        self._now = start
        self._epoch = epoch

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._epoch + self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds
