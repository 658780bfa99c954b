"""systemd and launchd adapters: generated files, and the commands each action runs, checked
against `systemctl`/`launchctl` stand-ins on PATH that record their arguments."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlx_serve.adapters.launchd import LABEL, LaunchdAgentService, render_plist
from mlx_serve.adapters.systemd import SystemdUserService, render_unit
from mlx_serve.application.service_control import ServiceControl, service_definition
from mlx_serve.domain.errors import ServiceError

STANDIN = textwrap.dedent(
    """\
    #!/bin/sh
    echo "$*" >> "$STANDIN_LOG"
    case "$*" in
      *is-enabled*) echo "${STANDIN_ENABLED:-disabled}"; exit 0 ;;
      *is-active*) echo "${STANDIN_ACTIVE:-inactive}"; exit 0 ;;
      print-disabled*) echo "${STANDIN_DISABLED:-}"; exit 0 ;;
      print*) [ -n "$STANDIN_LOADED" ] || exit 113; echo "	state = running"; exit 0 ;;
    esac
    [ -n "$STANDIN_STDERR" ] && echo "$STANDIN_STDERR" >&2
    exit "${STANDIN_RC:-0}"
    """
)


@pytest.fixture
def definition(tmp_path):
    home = tmp_path / "mlx home"  # a space, to check quoting
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "MLX_SERVE_PORT": "8123", "SECRET": "x"}
    return service_definition(
        python=sys.executable,
        home=home,
        logs_dir=home / "logs",
        environment=env,
        graceful_timeout_seconds=30,
    )


@pytest.fixture
def standin(tmp_path, monkeypatch):
    """Put recording `systemctl` and `launchctl` first on PATH; returns a reader of calls."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for name in ("systemctl", "launchctl"):
        script = bin_dir / name
        script.write_text(STANDIN)
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_LOG", str(log))
    for var in ("STANDIN_LOADED", "STANDIN_RC", "STANDIN_STDERR", "STANDIN_ENABLED"):
        monkeypatch.delenv(var, raising=False)

    def calls() -> list[str]:
        lines = log.read_text().splitlines() if log.exists() else []
        log.write_text("")
        return lines

    return calls


def test_definition_keeps_only_what_the_server_needs(definition):
    assert definition.program == (sys.executable, "-m", "mlx_serve", "start", "--foreground")
    assert definition.environment["MLX_SERVE_PORT"] == "8123"
    assert definition.environment["MLX_SERVE_HOME"].endswith("mlx home")
    assert "SECRET" not in definition.environment and "PATH" in definition.environment
    assert definition.stop_timeout_seconds == 45  # longer than the 30 s drain


def test_systemd_unit_content(definition):
    unit = render_unit(definition)
    lines = unit.splitlines()
    assert f"ExecStart={sys.executable} -m mlx_serve start --foreground" in lines
    assert "Restart=on-failure" in lines and "TimeoutStopSec=45" in lines
    assert "WantedBy=default.target" in lines and "KillSignal=SIGTERM" in lines
    log = definition.log_file
    assert f"StandardOutput=append:{log}" in lines and f"StandardError=append:{log}" in lines
    [environment] = [line for line in lines if line.startswith("Environment=")]
    assert f'"MLX_SERVE_HOME={definition.working_directory}"' in environment
    assert '"PATH=/usr/local/bin:/usr/bin:/bin"' in environment


def test_systemd_unit_passes_systemd_analyze_verify(definition, tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("systemd units are only generated and verified on Linux")
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: install Debian's `systemd` package")
    unit = tmp_path / "mlx-serve.service"
    unit.write_text(render_unit(definition))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), HOME=str(tmp_path))
    result = subprocess.run(
        [analyze, "--user", "verify", str(unit)], capture_output=True, text=True, env=env
    )
    # verify only warns about unknown keys: any output at all is a finding.
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr


def test_systemd_actions_run_systemctl_user(definition, tmp_path, standin, monkeypatch):
    service = SystemdUserService(definition, tmp_path / "config" / "systemd" / "user")
    control = ServiceControl(service)
    assert control.status().installed is False
    path = control.install()
    assert path == tmp_path / "config/systemd/user/mlx-serve.service"
    assert path.read_text() == render_unit(definition) and definition.log_file.parent.is_dir()
    probe = "--user show-environment"  # is a user manager there? asked before any change
    assert standin() == [probe, "--user daemon-reload"]
    control.install()  # idempotent: same file, reload again
    assert standin() == [probe, "--user daemon-reload"]
    for action in ("start", "stop", "enable", "disable"):
        getattr(control, action)()
        assert standin() == [probe, f"--user {action} mlx-serve.service"]
    monkeypatch.setenv("STANDIN_ENABLED", "enabled")
    monkeypatch.setenv("STANDIN_ACTIVE", "active")
    status = control.status()
    assert status.installed and status.enabled and status.running
    assert control.uninstall() is True
    calls = standin()
    assert "--user disable --now mlx-serve.service" in calls and "--user daemon-reload" in calls
    assert not path.exists()
    assert control.uninstall() is False
    with pytest.raises(ServiceError, match="not installed"):
        control.start()


def test_systemd_without_user_manager_or_systemctl(definition, tmp_path, standin, monkeypatch):
    service = SystemdUserService(definition, tmp_path / "units")
    monkeypatch.setenv("STANDIN_RC", "1")
    monkeypatch.setenv("STANDIN_STDERR", "Failed to connect to bus: No medium found")
    with pytest.raises(ServiceError, match="no systemd user manager is running") as caught:
        service.install()
    assert "enable-linger" in caught.value.message and "mlx-serve start" in caught.value.message
    assert not service.unit_path.exists()  # nothing written that nothing could run
    # With the unit already there (installed while a manager ran), `enable` would succeed
    # offline and claim success; it must refuse the same way.
    service.unit_path.parent.mkdir(parents=True)
    service.unit_path.write_text(render_unit(definition))
    for action in ("enable", "start", "disable", "stop"):
        with pytest.raises(ServiceError, match="no systemd user manager is running"):
            getattr(service, action)()
    assert "--user enable mlx-serve.service" not in standin()
    ServiceControl(service).uninstall()  # removes the file even so
    assert not service.unit_path.exists()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ServiceError, match="systemctl is not installed"):
        service.install()


def test_launchd_plist_round_trips_through_plistlib(definition):
    data = plistlib.loads(render_plist(definition))
    assert data["Label"] == LABEL
    assert data["ProgramArguments"] == list(definition.program)
    assert data["EnvironmentVariables"] == definition.environment
    assert data["StandardOutPath"] == data["StandardErrorPath"] == str(definition.log_file)
    assert data["KeepAlive"] == {"SuccessfulExit": False}  # restart on failure only
    assert data["ExitTimeOut"] == 45 and data["WorkingDirectory"] == str(
        definition.working_directory
    )


def test_launchd_actions_run_launchctl_in_the_gui_domain(
    definition, tmp_path, standin, monkeypatch
):
    agents = tmp_path / "Library" / "LaunchAgents"
    control = ServiceControl(LaunchdAgentService(definition, agents, uid=501))
    target, plist = f"gui/501/{LABEL}", agents / f"{LABEL}.plist"
    assert control.install() == plist
    assert plistlib.loads(plist.read_bytes())["Label"] == LABEL
    assert standin() == [f"print {target}"]  # not loaded: nothing to reload
    control.install()
    assert standin() == []  # unchanged file: nothing to do
    control.start()
    assert standin() == [f"print {target}", f"bootstrap gui/501 {plist}", f"kickstart {target}"]
    monkeypatch.setenv("STANDIN_LOADED", "1")
    control.stop()
    assert standin() == [f"print {target}", f"bootout {target}"]
    control.enable()
    control.disable()
    assert standin() == [f"enable {target}", f"disable {target}"]
    monkeypatch.setenv("STANDIN_DISABLED", f'\t"{LABEL}" => disabled')
    status = control.status()
    assert status.installed and status.running and not status.enabled
    assert control.uninstall() is True
    assert f"bootout {target}" in standin() and not plist.exists()


def test_launchd_without_launchctl(definition, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    service = LaunchdAgentService(definition, tmp_path / "agents", uid=501)
    with pytest.raises(ServiceError, match="launchctl is not available"):
        service.install()


def test_cli_service_command_prints_and_exits(definition, tmp_path, standin, capsys):
    from types import SimpleNamespace

    from mlx_serve.entrypoints.cli.commands import service as command
    from mlx_serve.entrypoints.cli.parser import build_parser

    control = ServiceControl(SystemdUserService(definition, Path(tmp_path / "units")))
    context = SimpleNamespace(service_control=control)
    parser = build_parser()
    assert command.run(parser.parse_args(["service", "status"]), context) == 3
    assert command.run(parser.parse_args(["service", "install"]), context) == 0
    assert "installed the service" in capsys.readouterr().out
    assert command.run(parser.parse_args(["service", "uninstall"]), context) == 0
    assert "removed the service" in capsys.readouterr().out
