"""The settings error, apart from the settings model so light CLI paths can catch it without
importing pydantic."""

from __future__ import annotations


class SettingsError(Exception):
    """A setting has a bad value; the message names the variable."""
