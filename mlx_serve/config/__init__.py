"""Settings: CLI flag > environment > $MLX_SERVE_HOME/config.yaml > default."""

from mlx_serve.config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
