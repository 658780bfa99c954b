"""`mlx-serve stop` waits for the drain as well as the graceful stop before giving up."""

from __future__ import annotations

import pytest

import mlx_serve.__main__ as entry
from mlx_serve.entrypoints.cli.commands.server import STOP_MARGIN_SECONDS
from mlx_serve.entrypoints.cli.context import CliContext


class RecordingLifecycle:
    """Stands in for ServerLifecycle: records how long stop() was told to wait."""

    def __init__(self) -> None:
        self.timeouts: list[float] = []

    def stop(self, *, port, all_, force, timeout):
        self.timeouts.append(timeout)
        return []

    def instances(self, port=None):
        return []


@pytest.mark.parametrize(("drain", "expected"), [("0", 30), ("12", 42)])
def test_stop_waits_for_drain_plus_graceful_timeout(monkeypatch, tmp_path, drain, expected):
    monkeypatch.setenv("MLX_SERVE_HOME", str(tmp_path))
    monkeypatch.setenv("MLX_SERVE_GRACEFUL_TIMEOUT_SECONDS", "30")
    monkeypatch.setenv("MLX_SERVE_DRAIN_SECONDS", drain)
    lifecycle = RecordingLifecycle()

    def make_context(settings):
        return CliContext(settings=settings, catalog=None, serve=None, lifecycle=lifecycle)

    # stop takes the light path (QuickSettings); patch both in case that changes.
    monkeypatch.setattr(entry, "_cli_context", make_context)
    monkeypatch.setattr(entry, "_quick_cli_context", make_context)
    entry.main(["stop"])
    assert lifecycle.timeouts == [expected + STOP_MARGIN_SECONDS]
