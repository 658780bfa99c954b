"""A terminal progress bar for one file transfer: bar, bytes, speed and time left.

Speed is measured over the last few seconds (a sliding window), so a transfer that resumed
from a partial file or paused for a retry shows its current rate, not a lifetime average.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from mlx_serve.entrypoints.cli.output import human_size

WINDOW_SECONDS = 5.0
BAR_WIDTH = 24


class TransferMeter:
    """Bytes-per-second of one transfer, from (time, completed) samples."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    def update(self, completed: int) -> float | None:
        """Record ``completed`` bytes now; the current speed (bytes/s), None until known."""
        now = self._clock()
        if self._samples and completed < self._samples[-1][1]:
            self._samples.clear()  # the transfer restarted from scratch
        self._samples.append((now, completed))
        while len(self._samples) > 2 and now - self._samples[0][0] > WINDOW_SECONDS:
            self._samples.popleft()
        first_time, first_done = self._samples[0]
        if now - first_time < 0.2:
            return None
        return (completed - first_done) / (now - first_time)


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def render(label: str, completed: int, total: int, speed: float | None) -> str:
    """``label [######------]  42% (1.2 MB/3.0 MB) 2.1 MB/s ETA 1s``.

    Speed and time left are shown while the transfer runs; a finished one shows its bytes.
    """
    fraction = min(1.0, completed / total) if total else 0.0
    filled = int(BAR_WIDTH * fraction)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    text = (
        f"{label} [{bar}] {int(100 * fraction):3d}% "
        f"({human_size(completed)}/{human_size(total)})"
    )
    if speed is not None and speed > 0 and completed < total:
        text += f" {human_size(int(speed))}/s ETA {duration((total - completed) / speed)}"
    return text
