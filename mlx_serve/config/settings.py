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

from mlx_serve.config.errors import SettingsError

ENV_PREFIX = "MLX_SERVE_"


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
    # name -> repo id / installed name, or {model: ..., prompt_name: ...} binding a prompt.
    aliases: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    # Seconds a pull waits to connect to the Hub, and for each answer or chunk, before the
    # attempt counts as failed (and is retried with backoff).
    hub_timeout_seconds: float = Field(default=10, gt=0)

    # Hardening (see README "Safe by default").
    # Browser origins allowed to call the server besides loopback ones; "*" allows any.
    # Listed origins also get CORS headers (empty: CORS off).
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Host header names answered besides IP literals, localhost and this machine's name;
    # "*" allows any (DNS rebinding protection off).
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Upper bound of the tokens one request may cost (after truncation to the model's maximum).
    max_request_tokens: int = Field(default=262144, ge=16)
    # A request's line and headers must arrive within this many seconds of its first byte.
    header_timeout_seconds: float = Field(default=10, gt=0, le=3600)
    # A request body that sends nothing for this many seconds is answered 408.
    body_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    # Open connections past this are answered 503 and closed at once.
    max_connections: int = Field(default=512, ge=1)

    # Production operations (see README "Running in production").
    # API keys for every route but /health, /openapi.json and /docs; comma-separated, and/or
    # one per line in api_key_file. repr=False: keys never appear in logs or tracebacks.
    api_key: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    api_key_file: Path | None = None
    # Keys for model management (/api/pull, /api/delete); without one, the API keys cover it.
    admin_api_key: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    admin_api_key_file: Path | None = None
    # Whether /metrics needs a key when keys are set (scrapers often cannot send one).
    metrics_require_key: bool = True
    log_format: Literal["text", "json"] = "text"

    # What token-id inputs of /v1/embeddings mean: OpenAI's cl100k_base ids (decoded to text,
    # as LangChain's OpenAIEmbeddings sends them) or the model's own vocabulary.
    token_id_vocabulary: Literal["cl100k_base", "model"] = "cl100k_base"

    # Running as one of several replicas behind a balancer.
    # The name in the X-Replica header and /health; default "<hostname>:<port>". Header-safe
    # characters only, since it goes into every response.
    replica_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:@/+-]{1,200}$")
    # On SIGTERM, keep serving this long while /health/ready answers 503, then stop.
    drain_seconds: float = Field(default=0, ge=0)

    # Performance (issue 11): MLX allocator limits in bytes; None = the device's default
    # (adapters/mlx/memory.py). Queued work per model, in tokens, before new requests get
    # 429; None = the device's default (application/admission.py).
    mlx_memory_limit_bytes: int | None = Field(default=None, ge=2**20)
    mlx_cache_limit_bytes: int | None = Field(default=None, ge=0)
    max_queued_tokens: int | None = Field(default=None, ge=1)
    # Threads of the optimised BLAS on Linux (0: the library's default); adapters/mlx/blas.py.
    blas_threads: int = Field(default=1, ge=0)
    # What runs BERT/XLM-RoBERTa encoders on the CPU (decision 0022): "auto" (ONNX Runtime
    # when it can, else MLX), "mlx" or "onnxruntime" (refuse models it cannot run).
    cpu_engine: Literal["auto", "mlx", "onnxruntime"] = "auto"

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator(
        "preload_models", "allowed_origins", "allowed_hosts", "api_key", "admin_api_key",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("aliases")
    @classmethod
    def _check_alias_bindings(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, target in value.items():
            if isinstance(target, dict) and (
                not isinstance(target.get("model"), str) or not target["model"]
                or set(target) - {"model", "prompt_name"}
            ):
                raise ValueError(f"alias '{name}' must be a model name or "
                                 "{model: <name>, prompt_name: <prompt>}")
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
