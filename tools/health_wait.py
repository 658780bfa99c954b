"""Wait for a benchmark's server to answer ``/health``: one loop for every runner started as a
subprocess (mlx-serve, infinity-emb)."""

from __future__ import annotations

import subprocess
import time

import httpx


def wait_healthy(url: str, process: subprocess.Popen, timeout: float, poll: float = 0.2) -> bool:
    """True once ``GET {url}/health`` answers 200; False if ``process`` exits first or
    ``timeout`` seconds pass (the caller stops it and says why)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(poll)
