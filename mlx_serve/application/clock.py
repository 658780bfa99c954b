"""The real clock (stdlib): monotonic time for deadlines, wall time for display."""

from __future__ import annotations

import time


class SystemClock:
    """Clock port on ``time.monotonic`` and ``time.time``."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()
