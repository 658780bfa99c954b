"""`status`, `stop`, `list` and `show` answer at once: they import nothing heavy (no MLX,
Sanic, huggingface_hub, pydantic or the container), checked with ``-X importtime`` on the
real CLI. No timing is asserted; the README gives the measured figure."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.server import REPO_ROOT, isolated_env, run_cli

HEAVY = {
    "mlx", "mlx.core", "sanic", "huggingface_hub", "pydantic", "pydantic_settings",
    "pydantic_core", "dependency_injector", "loguru", "numpy", "tokenizers", "transformers",
    "torch", "tenacity", "mlx_serve.bootstrap.container", "mlx_serve.config.settings",
}  # fmt: skip


def imported_by(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, set]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlx_serve", *args],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    return result, modules


@pytest.mark.parametrize(
    ("args", "code"),
    [(["status"], 3), (["stop"], 0), (["list"], 0), (["list", "--json"], 0), (["show", "x"], 1)],
)
def test_light_commands_import_nothing_heavy(tmp_path, args, code):
    env = isolated_env(tmp_path)
    (tmp_path / "mlx-serve" / "config.yaml").write_text("aliases:\n  x: y\n")
    result, modules = imported_by(args, env)
    assert result.returncode == code, result.stderr[-2000:]
    assert "mlx_serve.bootstrap.quick" in modules  # the light path ran
    assert not modules & HEAVY, sorted(modules & HEAVY)


def test_a_full_command_still_takes_the_full_path(tmp_path):
    # `pull` must build the container; the marker is what sets the two apart.
    _, modules = imported_by(["pull", "bad name/with space"], isolated_env(tmp_path))
    assert "mlx_serve.bootstrap.container" in modules


def test_a_bad_value_gets_the_same_error_as_everywhere(tmp_path):
    env = isolated_env(tmp_path, {"MLX_SERVE_PORT": "eighty"})
    quick, full = run_cli(["status"], env), run_cli(["pull", "org/x"], env)
    assert quick.returncode == full.returncode == 1
    assert "MLX_SERVE_PORT (config key 'port')" in quick.stderr
    assert quick.stderr == full.stderr
