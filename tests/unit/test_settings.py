"""Settings: CLI flag > environment > $MLX_SERVE_HOME/config.yaml > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_serve.config import SettingsError, load_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MLX_SERVE_PORT", "MLX_SERVE_HOST", "MLX_SERVE_PRELOAD_MODELS",
                 "MLX_SERVE_MODELS_DIR", "MLX_SERVE_LOG_LEVEL", "MLX_SERVE_CACHE_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLX_SERVE_HOME", str(tmp_path))
    return tmp_path


def test_defaults_follow_the_contract(home: Path) -> None:
    settings = load_settings()
    assert (settings.host, settings.port, settings.log_level) == ("0.0.0.0", 8000, "INFO")
    assert settings.models_path == home / "models"
    assert (settings.cache_max_embedding_models, settings.cache_max_reranker_models) == (3, 2)
    assert settings.cache_ttl_seconds == 1800 and settings.preload_models == []


def test_flag_beats_environment_beats_yaml_beats_default(home, monkeypatch) -> None:
    (home / "config.yaml").write_text(
        "port: 7000\nhost: 127.0.0.2\ncache_ttl_seconds: 60\naliases:\n  mini: all-MiniLM-L6-v2\n"
    )
    monkeypatch.setenv("MLX_SERVE_PORT", "7100")
    settings = load_settings(port=None)  # a flag that was not given
    assert settings.port == 7100 and settings.host == "127.0.0.2"
    assert settings.cache_ttl_seconds == 60 and settings.aliases == {"mini": "all-MiniLM-L6-v2"}
    assert load_settings(port=7200).port == 7200


def test_comma_separated_preload_list(home, monkeypatch) -> None:
    monkeypatch.setenv("MLX_SERVE_PRELOAD_MODELS", "a, b,,c")
    assert load_settings().preload_models == ["a", "b", "c"]
    (home / "config.yaml").write_text("preload_models: [x, y]\n")
    monkeypatch.delenv("MLX_SERVE_PRELOAD_MODELS")
    assert load_settings().preload_models == ["x", "y"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MLX_SERVE_PORT", "eighty"), ("MLX_SERVE_PORT", "70000"),
     ("MLX_SERVE_LOG_LEVEL", "LOUD"), ("MLX_SERVE_CACHE_TTL_SECONDS", "-1")],
)
def test_a_bad_value_names_its_variable(home, monkeypatch, variable, value) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_a_broken_yaml_file_is_a_clear_error(home) -> None:
    (home / "config.yaml").write_text("port: [unclosed\n")
    with pytest.raises(SettingsError, match="cannot read settings"):
        load_settings()


def test_models_dir_and_log_level_from_the_environment(home, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MLX_SERVE_MODELS_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("MLX_SERVE_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.models_path == tmp_path / "elsewhere" and settings.log_level == "DEBUG"


def test_hardening_settings(home, monkeypatch) -> None:
    defaults = load_settings()
    assert defaults.allowed_origins == [] and defaults.allowed_hosts == []
    assert defaults.max_request_tokens == 262144 and defaults.max_connections == 512
    assert defaults.header_timeout_seconds == 10 and defaults.body_timeout_seconds == 30
    monkeypatch.setenv("MLX_SERVE_ALLOWED_ORIGINS", "http://a.example, https://b.example,")
    monkeypatch.setenv("MLX_SERVE_ALLOWED_HOSTS", "*")
    settings = load_settings()
    assert settings.allowed_origins == ["http://a.example", "https://b.example"]
    assert settings.allowed_hosts == ["*"]
    monkeypatch.setenv("MLX_SERVE_BODY_TIMEOUT_SECONDS", "0")
    with pytest.raises(SettingsError, match="MLX_SERVE_BODY_TIMEOUT_SECONDS"):
        load_settings()


def test_token_id_vocabulary(home, monkeypatch) -> None:
    assert load_settings().token_id_vocabulary == "cl100k_base"
    monkeypatch.setenv("MLX_SERVE_TOKEN_ID_VOCABULARY", "model")
    assert load_settings().token_id_vocabulary == "model"
    monkeypatch.setenv("MLX_SERVE_TOKEN_ID_VOCABULARY", "o200k_base")
    with pytest.raises(SettingsError, match="MLX_SERVE_TOKEN_ID_VOCABULARY"):
        load_settings()


def test_an_alias_may_bind_a_prompt(home) -> None:
    (home / "config.yaml").write_text(
        "aliases:\n  mini: all-MiniLM-L6-v2\n"
        "  embeddinggemma-query: {model: embeddinggemma-300m, prompt_name: query}\n")
    assert load_settings().aliases == {
        "mini": "all-MiniLM-L6-v2",
        "embeddinggemma-query": {"model": "embeddinggemma-300m", "prompt_name": "query"}}


@pytest.mark.parametrize("entry", ["{prompt_name: query}", "{model: x, prompt: query}",
                                   "{model: '', prompt_name: query}"])
def test_a_malformed_alias_binding_is_a_clear_error(home, entry) -> None:
    (home / "config.yaml").write_text(f"aliases:\n  q: {entry}\n")
    with pytest.raises(SettingsError, match="aliases"):
        load_settings()
