"""The ServiceManager port on macOS: a LaunchAgent driven by ``launchctl`` in ``gui/<uid>``."""

from mlx_serve.adapters.launchd.agent import LABEL, LaunchdAgentService, render_plist

__all__ = ["LABEL", "LaunchdAgentService", "render_plist"]
