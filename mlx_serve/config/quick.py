"""The few settings `status`, `stop`, `list` and `show` need, read without pydantic.

Those commands answer in a fraction of a second only if they import nothing heavy, and
pydantic-settings alone costs about half a second to import (decision 18). This reader
follows the same precedence as ``Settings`` (flag > environment > config.yaml > default) for
its fields, accepts only plainly valid values, and hands anything else to the full
``load_settings``, so a bad value gets exactly the error it gets everywhere else.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "MLX_SERVE_"
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


class _Unsure(Exception):
    """A value this reader does not vouch for: the full settings decide."""


@dataclass(frozen=True)
class QuickSettings:
    """The fields of ``Settings`` the light commands read, with the same names."""

    home: Path
    port: int = 8000
    models_dir: Path | None = None
    graceful_timeout_seconds: float = 30.0
    drain_seconds: float = 0.0
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def models_path(self) -> Path:
        return self.models_dir or self.home / "models"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @classmethod
    def from_settings(cls, settings: Any) -> QuickSettings:
        return cls(
            home=settings.home,
            port=settings.port,
            models_dir=settings.models_path,
            graceful_timeout_seconds=settings.graceful_timeout_seconds,
            drain_seconds=settings.drain_seconds,
            aliases=dict(settings.aliases),
        )


def load_quick_settings(**overrides: Any) -> QuickSettings:
    """``QuickSettings`` for ``overrides`` (CLI flags; ``None`` means "not given").

    Raises SettingsError (from the full settings) when a value it reads is not plainly valid.
    """
    try:
        return _read({key: value for key, value in overrides.items() if value is not None})
    except _Unsure:
        from mlx_serve.config.settings import load_settings

        return QuickSettings.from_settings(load_settings(**overrides))


def _read(given: dict[str, Any]) -> QuickSettings:
    # pydantic-settings matches variable names case-insensitively.
    env = {
        key.upper()[len(ENV_PREFIX):].lower(): value
        for key, value in os.environ.items()
        if key.upper().startswith(ENV_PREFIX)
    }
    if "aliases" in env:
        raise _Unsure  # JSON in a variable: leave it to pydantic
    home = given.get("home") or env.get("home") or None
    yaml_home = Path(home) if home else Path("~/.mlx-serve")
    file = _yaml(yaml_home.expanduser() / "config.yaml")

    def value(name: str) -> Any:
        if name in given:
            return given[name]
        if name in env:
            return env[name]
        return file.get(name)

    home_value = value("home")
    home_path = _path(home_value) if home_value is not None else Path("~/.mlx-serve").expanduser()
    models = value("models_dir")
    aliases = file.get("aliases", {}) if "aliases" not in given else given["aliases"]
    if not isinstance(aliases, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()
    ):
        raise _Unsure
    return QuickSettings(
        home=home_path,
        port=_number(value("port"), 8000, integer=True, low=0, high=65535),
        models_dir=_path(models) if models is not None else home_path / "models",
        graceful_timeout_seconds=_number(value("graceful_timeout_seconds"), 30.0, positive=True),
        drain_seconds=_number(value("drain_seconds"), 0.0, low=0),
        aliases=dict(aliases),
    )


def _yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import yaml  # only when there is a file (tens of milliseconds)

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        raise _Unsure from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _Unsure
    return data


def _path(value: Any) -> Path:
    if not isinstance(value, (str, Path)) or not str(value):
        raise _Unsure
    return Path(value).expanduser()


def _number(
    value: Any,
    default: float,
    *,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
    positive: bool = False,
) -> Any:
    if value is None:
        return default
    if isinstance(value, bool):
        raise _Unsure
    if isinstance(value, str):
        if not (value.isdigit() if integer else _NUMBER.fullmatch(value)):
            raise _Unsure
        number: float = float(value)
    elif isinstance(value, (int, float)):
        number = value
    else:
        raise _Unsure
    if integer and number != int(number):
        raise _Unsure
    if (low is not None and number < low) or (high is not None and number > high):
        raise _Unsure
    if positive and not number > 0:
        raise _Unsure
    return int(number) if integer else float(number)
