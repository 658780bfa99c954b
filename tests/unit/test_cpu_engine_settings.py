"""MLX_SERVE_CPU_ENGINE and the batch budget each CPU engine gets (decision 0022)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_serve.adapters.mlx.runtime.placement import BATCH_TOKENS_ONNXRUNTIME, Runtime
from mlx_serve.config import SettingsError, load_settings
from mlx_serve.domain.errors import InvalidRequest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MLX_SERVE_CPU_ENGINE", raising=False)
    monkeypatch.setenv("MLX_SERVE_HOME", str(tmp_path))
    return tmp_path


def test_auto_is_the_default_and_the_environment_picks_an_engine(home, monkeypatch) -> None:
    assert load_settings().cpu_engine == "auto"
    monkeypatch.setenv("MLX_SERVE_CPU_ENGINE", "mlx")
    assert load_settings().cpu_engine == "mlx"
    monkeypatch.setenv("MLX_SERVE_CPU_ENGINE", "onnxruntime")
    assert load_settings().cpu_engine == "onnxruntime"


def test_an_unknown_engine_is_refused_naming_the_setting(home, monkeypatch) -> None:
    monkeypatch.setenv("MLX_SERVE_CPU_ENGINE", "tensorrt")
    with pytest.raises(SettingsError, match="cpu_engine"):
        load_settings()
    with pytest.raises(InvalidRequest, match="tensorrt"):
        Runtime(cpu_engine="tensorrt")


def test_onnx_runtime_gets_its_own_default_budget_unless_one_is_set() -> None:
    assert Runtime(device="cpu").batch_tokens("onnxruntime") == BATCH_TOKENS_ONNXRUNTIME
    assert Runtime(device="cpu").batch_tokens("mlx") == 512
    assert Runtime(device="cpu", max_batch_tokens=300).batch_tokens("onnxruntime") == 300
