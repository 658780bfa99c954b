"""Settings of production operations: keys inline and from files, CORS origins, log format."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_serve.config import SettingsError, load_settings
from mlx_serve.config.keys import is_loopback, load_api_keys

VARIABLES = ("API_KEY", "API_KEY_FILE", "ADMIN_API_KEY", "ADMIN_API_KEY_FILE",
             "ALLOWED_ORIGINS", "LOG_FORMAT", "METRICS_REQUIRE_KEY", "HOST")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in VARIABLES:
        monkeypatch.delenv(f"MLX_SERVE_{name}", raising=False)
    monkeypatch.setenv("MLX_SERVE_HOME", str(tmp_path))
    return tmp_path


def test_defaults_are_open_local_and_text(home):
    settings = load_settings()
    keys = load_api_keys(settings)
    assert not keys.any and settings.allowed_origins == []
    assert settings.log_format == "text" and settings.metrics_require_key is True


def test_keys_from_the_environment_and_a_file_merge(home, monkeypatch):
    key_file = home / "keys"
    key_file.write_text("# comment\n  k2  \n\nk3\nk1\n")
    monkeypatch.setenv("MLX_SERVE_API_KEY", "k1, k2")
    monkeypatch.setenv("MLX_SERVE_API_KEY_FILE", str(key_file))
    monkeypatch.setenv("MLX_SERVE_ADMIN_API_KEY", "adm")
    keys = load_api_keys(load_settings())
    assert keys.inference == ("k1", "k2", "k3") and keys.admin == ("adm",)


def test_keys_never_show_in_the_settings_repr(home, monkeypatch):
    monkeypatch.setenv("MLX_SERVE_API_KEY", "very-secret")
    monkeypatch.setenv("MLX_SERVE_ADMIN_API_KEY", "admin-secret")
    text = repr(load_settings())
    assert "very-secret" not in text and "admin-secret" not in text


def test_unreadable_or_empty_key_files_name_their_variable(home, monkeypatch):
    monkeypatch.setenv("MLX_SERVE_ADMIN_API_KEY_FILE", str(home / "missing"))
    with pytest.raises(SettingsError, match="MLX_SERVE_ADMIN_API_KEY_FILE"):
        load_api_keys(load_settings())
    empty = home / "empty"
    empty.write_text("# nothing\n\n")
    monkeypatch.setenv("MLX_SERVE_ADMIN_API_KEY_FILE", str(empty))
    with pytest.raises(SettingsError, match="holds no key"):
        load_api_keys(load_settings())


def test_origins_and_log_format(home, monkeypatch):
    monkeypatch.setenv("MLX_SERVE_ALLOWED_ORIGINS", "http://a.test, https://b.test:8443")
    monkeypatch.setenv("MLX_SERVE_LOG_FORMAT", "JSON")
    settings = load_settings()
    assert settings.allowed_origins == ["http://a.test", "https://b.test:8443"]
    assert settings.log_format == "json"
    monkeypatch.setenv("MLX_SERVE_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match="MLX_SERVE_LOG_FORMAT"):
        load_settings()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("127.8.9.1", True), ("0.0.0.0", False), ("::", False), ("192.168.1.4", False),
     ("myhost.lan", False)],
)
def test_loopback_detection(host, loopback):
    assert is_loopback(host) is loopback


def _warnings_of(settings) -> list[str]:
    from loguru import logger

    from mlx_serve.bootstrap.operations import operations_options

    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(m.record["message"]), level="WARNING")
    try:
        options = operations_options(settings)
    finally:
        logger.remove(sink)
    assert options.exporter is not None  # /metrics is served
    return messages


def test_a_public_bind_without_a_key_warns(home, monkeypatch):
    public = _warnings_of(load_settings(host="0.0.0.0"))
    assert any("without an API key" in m for m in public)
    assert not _warnings_of(load_settings(host="127.0.0.1"))
    monkeypatch.setenv("MLX_SERVE_API_KEY", "k")
    assert not _warnings_of(load_settings(host="0.0.0.0"))
