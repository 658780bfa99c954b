"""QuickSettings (the light commands' reader) agrees with Settings on every field it reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlx_serve.config.errors import SettingsError
from mlx_serve.config.quick import QuickSettings, load_quick_settings
from mlx_serve.config.settings import load_settings

CASES = [
    ({}, None, {}),
    ({"MLX_SERVE_PORT": "9001", "MLX_SERVE_GRACEFUL_TIMEOUT_SECONDS": "2.5"}, None, {}),
    ({"mlx_serve_port": "9002"}, None, {}),  # names match case-insensitively
    ({}, "port: 9003\ngraceful_timeout_seconds: 7\naliases:\n  mini: all-MiniLM-L6-v2\n", {}),
    ({"MLX_SERVE_PORT": "9004"}, "port: 9005\nmodels_dir: /srv/models\n", {}),
    ({"MLX_SERVE_MODELS_DIR": "~/m"}, "models_dir: /srv/models\n", {"port": 9006}),
    ({}, "port: 9007\n", {"port": 9008}),  # a flag beats the file
    ({}, "home: /elsewhere\n", {}),  # the file may even move the home
    ({"MLX_SERVE_PORT": "8000.0"}, None, {}),  # not plainly valid: the full settings decide
    ({"MLX_SERVE_ALIASES": '{"a": "b"}'}, None, {}),
    ({}, "", {}),
]


@pytest.mark.parametrize(("env", "yaml", "flags"), CASES)
def test_same_values_as_the_full_settings(tmp_path, monkeypatch, env, yaml, flags):
    for key in [k for k in os.environ if k.upper().startswith("MLX_SERVE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("MLX_SERVE_HOME", str(tmp_path / "home"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if yaml is not None:
        (tmp_path / "home").mkdir()
        (tmp_path / "home" / "config.yaml").write_text(yaml)
    try:
        expected = QuickSettings.from_settings(load_settings(**flags))
    except SettingsError as error:
        with pytest.raises(SettingsError) as caught:
            load_quick_settings(**flags)
        assert str(caught.value) == str(error)
        return
    quick = load_quick_settings(**flags)
    assert quick == expected
    assert (quick.run_dir, quick.logs_dir) == (expected.home / "run", expected.home / "logs")


def test_default_home_without_any_setting(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.upper().startswith("MLX_SERVE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    quick = load_quick_settings(port=None)
    assert quick.home == Path(tmp_path) / ".mlx-serve" and quick.port == 8000
    assert quick == QuickSettings.from_settings(load_settings())
