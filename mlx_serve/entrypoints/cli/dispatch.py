"""Run a parsed command: load settings, build the context, turn errors into exit codes."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlx_serve.config.settings import Settings
    from mlx_serve.entrypoints.cli.context import CliContext

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


def dispatch(args: argparse.Namespace, make_context: Callable[[Settings], CliContext]) -> int:
    """Run ``args.handler``; expected failures become one line on stderr and exit code 1."""
    from mlx_serve.config.settings import SettingsError, load_settings
    from mlx_serve.domain.errors import MlxServeError
    from mlx_serve.entrypoints.cli.output import error

    try:
        context: Any = None
        if getattr(args, "needs_context", True):
            overrides_of = getattr(args, "settings_overrides", None)
            settings = load_settings(**(overrides_of(args) if overrides_of else {}))
            context = make_context(settings)
        return int(args.handler(args, context))
    except (MlxServeError, SettingsError) as exc:
        error(getattr(exc, "message", None) or str(exc))
    except OSError as exc:  # disk full, permission denied: the OS's words are clear enough
        error(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
    except KeyboardInterrupt:
        error("interrupted")
        return EXIT_INTERRUPTED
    return EXIT_ERROR
