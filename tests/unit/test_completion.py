"""Shell completion through argcomplete's environment protocol, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.completion import REPO_ROOT, complete


def values(line: str, env: dict[str, str]) -> list[str]:
    """Candidates that are not options (argcomplete also offers -h/--help at an empty word)."""
    return [word for word in complete(line, env) if not word.startswith("-")]


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "mlx-serve"
    models = home / "models"
    for name in ("minilm", "mxbai-rerank", "qwen3-embed"):
        (models / name).mkdir(parents=True)
        (models / name / "mlx-serve.json").write_text(json.dumps({"name": name}))
    (models / ".staging" / "half").mkdir(parents=True)  # never offered
    (models / "no-metadata").mkdir()  # an unfinished directory: not a model
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MLX_SERVE_")}
    environment.update(MLX_SERVE_HOME=str(home), HOME=str(tmp_path))
    return environment


def test_subcommands(env):
    assert complete("mlx-serve st", env) == ["start", "status", "stop"]
    assert {"pull", "list", "service", "completion"} <= set(complete("mlx-serve ", env))


def test_options_and_choices(env):
    assert complete("mlx-serve stop --", env) == [
        "--all",
        "--force",
        "--help",
        "--port",
        "--timeout",
    ]
    assert complete("mlx-serve pull org/x --type ", env) == ["embedding", "reranker"]
    assert values("mlx-serve completion ", env) == ["bash", "fish", "zsh"]
    assert "uninstall" in values("mlx-serve service ", env)


def test_installed_model_names(env):
    assert values("mlx-serve remove ", env) == ["minilm", "mxbai-rerank", "qwen3-embed"]
    assert complete("mlx-serve show m", env) == ["minilm", "mxbai-rerank"]
    assert complete("mlx-serve start --preload q", env) == ["qwen3-embed"]


def test_models_dir_setting_is_honoured(env, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "other-model"
    elsewhere.mkdir(parents=True)
    (elsewhere / "mlx-serve.json").write_text("{}")
    env["MLX_SERVE_MODELS_DIR"] = str(elsewhere.parent)
    assert values("mlx-serve rm ", env) == ["other-model"]


def test_completion_prints_the_rc_line():
    for shell, needle in [("bash", "register-python-argcomplete mlx-serve"), ("fish", "| source")]:
        out = subprocess.run(
            [sys.executable, "-m", "mlx_serve", "completion", shell],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert needle in out.splitlines()[-1]


def test_tab_imports_nothing_heavy():
    code = (
        "import sys; from mlx_serve.entrypoints.cli.parser import build_parser; build_parser();"
        "heavy = [m for m in ('mlx', 'sanic', 'transformers', 'numpy', 'pydantic', 'torch')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
