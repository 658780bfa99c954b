"""API keys from the settings: given inline (comma-separated) and/or one per line in a file.

Files let a service manager or a secret store hand keys over without them ever appearing on a
command line or in a unit file. Blank lines and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlx_serve.config.settings import ENV_PREFIX, Settings, SettingsError


@dataclass(frozen=True)
class ApiKeys:
    inference: tuple[str, ...] = ()
    admin: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.inference or self.admin)


def read_key_file(path: Path, variable: str) -> list[str]:
    """Keys in ``path``, one per line; SettingsError naming ``variable`` when unreadable."""
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{ENV_PREFIX}{variable}: cannot read key file {path}: {exc}") from None
    keys = [line.strip() for line in text.splitlines()]
    keys = [key for key in keys if key and not key.startswith("#")]
    if not keys:
        raise SettingsError(f"{ENV_PREFIX}{variable}: key file {path} holds no key")
    return keys


def load_api_keys(settings: Settings) -> ApiKeys:
    """The inference and admin keys, inline ones first, duplicates dropped."""
    inference = list(settings.api_key)
    if settings.api_key_file is not None:
        inference += read_key_file(settings.api_key_file, "API_KEY_FILE")
    admin = list(settings.admin_api_key)
    if settings.admin_api_key_file is not None:
        admin += read_key_file(settings.admin_api_key_file, "ADMIN_API_KEY_FILE")
    return ApiKeys(tuple(dict.fromkeys(inference)), tuple(dict.fromkeys(admin)))


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` reaches only this machine."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
