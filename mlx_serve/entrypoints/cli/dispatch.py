"""Run a parsed command: load settings, build the context, turn errors into exit codes."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlx_serve.config.quick import QuickSettings
    from mlx_serve.config.settings import Settings
    from mlx_serve.entrypoints.cli.context import CliContext

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


def dispatch(
    args: argparse.Namespace,
    make_context: Callable[[Settings], CliContext],
    make_quick_context: Callable[[QuickSettings], CliContext] | None = None,
) -> int:
    """Run ``args.handler``; expected failures become one line on stderr and exit code 1.

    Commands marked ``quick`` get ``make_quick_context`` (no pydantic, no container; see
    decision 18) when one is given.
    """
    from mlx_serve.config.errors import SettingsError
    from mlx_serve.domain.errors import MlxServeError
    from mlx_serve.entrypoints.cli.output import error

    try:
        context: Any = None
        if getattr(args, "needs_context", True):
            overrides_of = getattr(args, "settings_overrides", None)
            overrides = overrides_of(args) if overrides_of else {}
            if getattr(args, "quick", False) and make_quick_context is not None:
                from mlx_serve.config.quick import load_quick_settings

                context = make_quick_context(load_quick_settings(**overrides))
            else:
                from mlx_serve.config.settings import load_settings

                context = make_context(load_settings(**overrides))
        return int(args.handler(args, context))
    except (MlxServeError, SettingsError) as exc:
        error(getattr(exc, "message", None) or str(exc))
    except OSError as exc:  # disk full, permission denied: the OS's words are clear enough
        error(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
    except KeyboardInterrupt:
        error("interrupted")
        return EXIT_INTERRUPTED
    return EXIT_ERROR
