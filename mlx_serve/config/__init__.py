"""Settings: CLI flag > environment > $MLX_SERVE_HOME/config.yaml > default.

The names below load on first use: importing ``mlx_serve.config.quick`` (the fast CLI
commands' reader) must not import pydantic.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "SettingsError", "load_settings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mlx_serve.config import settings

        return getattr(settings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
