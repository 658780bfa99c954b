"""Keys reach background servers and the OS service without a command line or a unit file."""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

import pytest

from mlx_serve.application.service_control import (
    ServiceControl,
    service_definition,
    withheld_secrets,
)
from mlx_serve.config import load_settings
from mlx_serve.domain.errors import ServiceError
from mlx_serve.entrypoints.cli.commands import server as server_command


def define(tmp_path, env):
    return service_definition(python=sys.executable, home=tmp_path, logs_dir=tmp_path / "logs",
                              environment=env, graceful_timeout_seconds=30)


class Manager:
    def __init__(self):
        self.installed = False

    def install(self):
        self.installed = True
        return "unit"


@pytest.mark.parametrize("variable", ["MLX_SERVE_API_KEY", "MLX_SERVE_ADMIN_API_KEY"])
def test_the_service_refuses_to_install_without_writing_a_raw_key(tmp_path, variable):
    env = {"PATH": "/bin", variable: "secret"}
    definition = define(tmp_path, env)  # building it is fine (every CLI command does)
    assert variable not in definition.environment and "secret" not in repr(definition)
    manager = Manager()
    with pytest.raises(ServiceError, match=f"{variable}_FILE"):
        ServiceControl(manager, withheld_secrets(env)).install()
    assert not manager.installed
    assert ServiceControl(manager, withheld_secrets({"PATH": "/bin"})).install() == "unit"


def test_the_service_gets_the_key_file_path_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keys").write_text("secret\n")
    definition = define(tmp_path, {"PATH": "/bin", "MLX_SERVE_API_KEY_FILE": "keys"})
    assert definition.environment["MLX_SERVE_API_KEY_FILE"] == str(tmp_path / "keys")
    assert "secret" not in repr(definition)


def test_background_start_passes_keys_in_the_environment_not_the_arguments(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("MLX_SERVE_HOME", str(tmp_path))
    monkeypatch.setenv("MLX_SERVE_API_KEY", "bg-secret")
    seen = {}

    class Lifecycle:
        def start(self, **kwargs):
            seen.update(kwargs)
            record = SimpleNamespace(log_file=tmp_path / "log")
            return SimpleNamespace(record=record, url="http://x", pid=1)

    context = SimpleNamespace(settings=load_settings(), lifecycle=Lifecycle())
    assert server_command.run_background(argparse.Namespace(timeout=None), context) == 0
    assert not any("bg-secret" in arg for arg in seen["argv"])
    assert seen["env"]["MLX_SERVE_API_KEY"] == "bg-secret"
