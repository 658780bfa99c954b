"""The first ten minutes: what a new user sees from the real CLI when something is off."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.support.server import isolated_env, run_cli


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return isolated_env(tmp_path)


def error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    (line,) = [ln for ln in result.stderr.splitlines() if "mlx-serve: error:" in ln]
    return line


def test_bare_command_prints_the_help(env):
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: mlx-serve")
    for command in ("start", "pull", "status", "stop", "list", "show", "service"):
        assert f"    {command}" in result.stdout, command
    assert "required" not in result.stderr


def test_pull_of_a_malformed_name_says_the_name_is_wrong(env):
    line = error_line(run_cli(["pull", "bad name/with space"], env))
    assert "'bad name/with space'" in line
    assert "not a model directory on this machine" in line
    assert "nor a valid Hugging Face repo id (owner/name" in line
    assert "hub is available" not in line


def _user_manager_running() -> bool:
    result = subprocess.run(
        ["systemctl", "--user", "show-environment"], capture_output=True, check=False
    )
    return result.returncode == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="systemd is Linux only")
def test_service_without_a_user_manager_changes_nothing_and_claims_nothing(env, tmp_path):
    if shutil.which("systemctl") is None:
        pytest.fail("systemctl is missing: install Debian's `systemd` package (tools/test.sh)")
    if _user_manager_running():
        pytest.skip("a systemd user manager runs here: this checks the case without one")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    unit = tmp_path / "config" / "systemd" / "user" / "mlx-serve.service"

    line = error_line(run_cli(["service", "install"], env))
    assert "no systemd user manager is running" in line and "nothing was changed" in line
    assert "loginctl enable-linger" in line and "mlx-serve start" in line
    assert not unit.exists()

    # A unit left from a time a manager ran: `systemctl --user enable` would succeed offline.
    unit.parent.mkdir(parents=True)
    unit.write_text("[Unit]\n")
    enabled = run_cli(["service", "enable"], env)
    assert "no systemd user manager is running" in error_line(enabled)
    assert "enabled" not in enabled.stdout
    assert not (unit.parent / "default.target.wants").exists()
