"""CLI commands in-process on fake adapters: output, exit codes, flags reaching the catalog."""

from __future__ import annotations

import json

import pytest

import mlx_serve.__main__ as entry
from mlx_serve.application.catalog import ModelCatalog
from mlx_serve.entrypoints.cli.context import CliContext
from tests.fakes.converter import FakeConverter
from tests.fakes.repository import FakeModelRepository
from tests.fakes.store import FakeModelStore, make_info


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Run `mlx-serve ARGS` in-process against a fake catalog; returns (run, state)."""
    monkeypatch.setenv("MLX_SERVE_HOME", str(tmp_path))
    for name in ("HOST", "PORT", "PRELOAD_MODELS"):
        monkeypatch.delenv(f"MLX_SERVE_{name}", raising=False)
    store = FakeModelStore([make_info("installed", source="org/Installed")])
    repository = FakeModelRepository(["org/Model-A"])
    catalog = ModelCatalog(store, [repository], FakeConverter())
    served: list[tuple[str, int, list[str]]] = []

    def serve(host: str, port: int, preload: list[str]) -> int:
        served.append((host, port, preload))
        return 0

    def make_context(settings):
        return CliContext(settings=settings, catalog=catalog, serve=serve)

    monkeypatch.setattr(entry, "_cli_context", make_context)
    monkeypatch.setattr(entry, "_quick_cli_context", make_context)  # status, stop, list, show
    state = {"store": store, "repository": repository, "served": served}
    return entry.main, state


def test_pull_passes_every_flag_and_prints_plain_progress(cli, capsys):
    main, state = cli
    code = main(
        [
            "pull",
            "org/Model-A",
            "--type",
            "reranker",
            "--name",
            "mine",
            "--dtype",
            "float16",
            "--quantize",
            "4",
            "--revision",
            "v2",
            "--keep-original",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    info = state["store"].models["mine"]
    assert (info.type.value, info.dtype, info.quantization, info.revision) == (
        "reranker",
        "float16",
        "q4",
        "v2",
    )
    assert state["store"].originals
    assert "pulled 'mine'" in out
    assert err.splitlines()[0] == "pulling manifest" and "\r" not in err


def test_pull_of_installed_model_without_force_fails_cleanly(cli, capsys):
    main, _ = cli
    assert main(["pull", "org/Model-A", "--name", "installed"]) == 1
    err = capsys.readouterr().err
    assert "already installed" in err and "Traceback" not in err


def test_list_show_and_remove(cli, capsys):
    main, state = cli
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "TYPE", "SIZE", "QUANTIZATION", "MODIFIED"]
    assert "installed" in out
    assert main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "installed"
    assert main(["show", "ORG/INSTALLED", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == "org/Installed"
    assert main(["show", "installed"]) == 0
    assert "architecture:" in capsys.readouterr().out
    assert main(["remove", "installed"]) == 0  # stdin is not a terminal: no question
    assert state["store"].removed == ["installed"]
    assert main(["list"]) == 0
    assert "no models installed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command", [["show"], ["remove", "--yes"], ["pull", "org/Model-A", "--name"]]
)
@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a\x1bb"])
def test_bad_names_exit_1_with_one_line(cli, capsys, command, name):
    main, state = cli
    assert main([*command, name]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mlx-serve: error: ") and len(err.splitlines()) == 1
    assert "\x1b" not in err and not state["store"].removed


def test_start_foreground_applies_flags_over_settings(cli, monkeypatch):
    main, state = cli
    monkeypatch.setenv("MLX_SERVE_PORT", "9999")
    assert main(["start", "--foreground", "--host", "127.0.0.1", "--preload", "installed"]) == 0
    assert main(["start", "--foreground", "--port", "1234"]) == 0
    assert state["served"] == [("127.0.0.1", 9999, ["installed"]), ("0.0.0.0", 1234, [])]


def test_start_rejects_unsafe_preload_names_and_warns_about_missing_ones(cli, capsys):
    main, state = cli
    assert main(["start", "--foreground", "--preload", "../x"]) == 1
    assert not state["served"]
    # A model that is not installed is reported, and the server still serves the others.
    assert main(["start", "--foreground", "--preload", "installed,missing"]) == 0
    assert "model 'missing' not found" in capsys.readouterr().err
    assert state["served"][-1][2] == ["installed", "missing"]


def test_bad_settings_are_one_line_errors(cli, monkeypatch, capsys):
    main, _ = cli
    monkeypatch.setenv("MLX_SERVE_PORT", "not-a-port")
    assert main(["list"]) == 1
    assert "MLX_SERVE_PORT" in capsys.readouterr().err


def test_usage_errors_exit_2(cli):
    main, _ = cli
    for argv in (
        ["pull", "x", "--type", "unknown"],
        ["pull", "x", "--quantize", "3"],
        ["nope"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2


def test_progress_on_a_terminal_rewrites_one_line_per_status():
    import io

    from mlx_serve.domain.ports import PullProgress
    from mlx_serve.entrypoints.cli.progress import ProgressPrinter

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    printer = ProgressPrinter(stream)
    printer(PullProgress("pulling manifest"))
    for done in (0, 500, 1000):
        printer(PullProgress("pulling model.safetensors", total=1000, completed=done))
    printer(PullProgress("success"))
    printer.finish()
    lines = stream.getvalue().split("\n")
    assert len(lines) == 4 and lines[-1] == ""  # three statuses, each ended once
    assert lines[1].count("\r") == 3 and lines[1].endswith("100% (1.0 KB/1.0 KB)")
