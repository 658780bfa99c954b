"""Settings of a replica behind a balancer: its name and its drain."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_serve.config import SettingsError, load_settings
from mlx_serve.entrypoints.http.replica import default_name


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MLX_SERVE_REPLICA_NAME", "MLX_SERVE_DRAIN_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLX_SERVE_HOME", str(tmp_path))
    return tmp_path


def test_defaults(home) -> None:
    settings = load_settings()
    assert settings.replica_name is None  # the server then uses default_name()
    assert settings.drain_seconds == 0
    assert default_name("node-1", 8000) == "node-1:8000"


def test_from_the_environment(home, monkeypatch) -> None:
    monkeypatch.setenv("MLX_SERVE_REPLICA_NAME", "mlx-serve-7d9f-abcde")
    monkeypatch.setenv("MLX_SERVE_DRAIN_SECONDS", "5")
    settings = load_settings()
    assert settings.replica_name == "mlx-serve-7d9f-abcde"
    assert settings.drain_seconds == 5


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MLX_SERVE_REPLICA_NAME", "two words"),
        ("MLX_SERVE_REPLICA_NAME", "a\r\nX-Injected: 1"),  # it goes into a response header
        ("MLX_SERVE_REPLICA_NAME", ""),
        ("MLX_SERVE_DRAIN_SECONDS", "-1"),
        ("MLX_SERVE_DRAIN_SECONDS", "soon"),
    ],
)
def test_bad_values_name_their_variable(home, monkeypatch, variable, value) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()
