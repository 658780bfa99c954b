"""The ServiceManager port on Linux: a systemd user unit driven by ``systemctl --user``."""

from mlx_serve.adapters.systemd.service import SystemdUserService
from mlx_serve.adapters.systemd.unit import render_unit

__all__ = ["SystemdUserService", "render_unit"]
