"""What ``GET /health`` reports about the server itself: starting, ok, or draining.

Shared by the HTTP health route (reads it), the preloader (marks the end of start-up) and the
server's shutdown hook (marks the drain). Event-loop only; no locking needed.
"""

from __future__ import annotations

from enum import Enum


class ServerPhase(str, Enum):
    STARTING = "starting"  # preloads still running: 503
    OK = "ok"  # serving: 200
    DRAINING = "draining"  # SIGTERM received, finishing requests in flight: 503


class HealthState:
    """The server's phase plus the preloads that failed (shown in /health, never fatal)."""

    def __init__(self, *, started_at: float = 0.0) -> None:
        self.phase = ServerPhase.STARTING
        self.started_at = started_at  # Unix seconds, for uptime
        self.preload_failures: dict[str, str] = {}  # model reference -> reason
        self.blas: str | None = None  # the BLAS MLX's CPU matmuls use, set at start

    @property
    def status(self) -> str:
        return self.phase.value

    @property
    def serving(self) -> bool:
        """Whether /health should answer 200."""
        return self.phase is ServerPhase.OK

    def mark_ready(self) -> None:
        """Start-up is over (preloads done or failed). A draining server stays draining."""
        if self.phase is ServerPhase.STARTING:
            self.phase = ServerPhase.OK

    def mark_draining(self) -> None:
        self.phase = ServerPhase.DRAINING
