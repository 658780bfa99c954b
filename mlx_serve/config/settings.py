"""Every setting of the contract's configuration table, and a few of our own.

Precedence: CLI flag (passed in as ``overrides``) > environment (``MLX_SERVE_*``) >
``$MLX_SERVE_HOME/config.yaml`` > default. ``MLX_SERVE_HOME`` itself is read first, because
it says where the YAML file is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "MLX_SERVE_"


class SettingsError(Exception):
    """A setting has a bad value; the message names the variable."""


def default_home() -> Path:
    return Path(os.environ.get(f"{ENV_PREFIX}HOME") or Path.home() / ".mlx-serve").expanduser()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", validate_default=True, frozen=True
    )

    home: Path = Field(default_factory=default_home)
    host: str = "0.0.0.0"
    port: int = Field(default=8000, ge=0, le=65535)
    models_dir: Path | None = None
    log_level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = (
        "INFO"
    )

    # Model residency cache.
    cache_max_embedding_models: int = Field(default=3, ge=1)
    cache_max_reranker_models: int = Field(default=2, ge=1)
    cache_ttl_seconds: float = Field(default=1800, gt=0)
    # Comma-separated in the environment ("a,b"); NoDecode stops pydantic-settings from
    # trying to JSON-decode it first (the known trap with list fields).
    preload_models: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Requests.
    max_inputs: int = Field(default=2048, ge=1)
    max_documents: int = Field(default=1000, ge=1)
    max_request_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Token budget of one forward pass: inputs are sorted by length and cut into batches
    # whose padded size (rows x longest row) stays under it. None: measured per-device
    # default (adapters/mlx/runtime.py: 512 on a CPU, 16384 on a GPU).
    max_batch_tokens: int | None = Field(default=None, ge=16)
    graceful_timeout_seconds: float = Field(default=30, gt=0)

    # MLX.
    device: Literal["auto", "cpu", "gpu"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    # Path or soname of an optimised BLAS to load before MLX on Linux; "none" disables.
    blas_library: str | None = None

    # Model management.
    auto_download: bool = False
    auto_download_timeout_seconds: float = Field(default=600, gt=0)
    quantize_group_size: int = Field(default=64, ge=16)
    aliases: dict[str, str] = Field(default_factory=dict)

    # Performance (issue 11): MLX allocator limits in bytes; None = the device's default
    # (adapters/mlx/memory.py). Queued work per model, in tokens, before new requests get
    # 429; None = the device's default (application/admission.py).
    mlx_memory_limit_bytes: int | None = Field(default=None, ge=2**20)
    mlx_cache_limit_bytes: int | None = Field(default=None, ge=0)
    max_queued_tokens: int | None = Field(default=None, ge=1)
    # Threads of the optimised BLAS on Linux (0: the library's default); adapters/mlx/blas.py.
    blas_threads: int = Field(default=1, ge=0)

    @field_validator("preload_models", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        home = self.home.expanduser()
        object.__setattr__(self, "home", home)
        models = (self.models_dir or home / "models").expanduser()
        object.__setattr__(self, "models_dir", models)
        return self

    @property
    def models_path(self) -> Path:
        assert self.models_dir is not None  # set by _derive_paths
        return self.models_dir

    @property
    def downloads_path(self) -> Path:
        """Hub downloads in progress, beside the models (same filesystem, hidden from list)."""
        return self.models_path / ".downloads"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        home = init_settings.init_kwargs.get("home") or default_home()  # type: ignore[attr-defined]
        yaml_file = Path(home).expanduser() / "config.yaml"
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls, yaml_file))


def load_settings(**overrides: Any) -> Settings:
    """Build the settings; ``overrides`` are CLI flags (``None`` means "not given").

    Raises SettingsError naming the environment variable (or config key) that is wrong.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            variable = f"{ENV_PREFIX}{field.upper()}"
            problems.append(f"{variable} (config key '{field}'): {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
    except Exception as exc:  # a YAML file that does not parse
        raise SettingsError(f"cannot read settings: {exc}") from None
