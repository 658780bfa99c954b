"""Program entry: `mlx-serve` and `python -m mlx_serve`.

argcomplete runs this module up to ``autocomplete()`` on every TAB press, so nothing heavy
(mlx, sanic, pydantic, transformers) may be imported before it: the composition root is
imported only once a command is about to run.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from mlx_serve.entrypoints.cli.parser import build_parser

if TYPE_CHECKING:
    from mlx_serve.config.quick import QuickSettings
    from mlx_serve.config.settings import Settings
    from mlx_serve.entrypoints.cli.context import CliContext


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run the command, return the exit code."""
    parser = build_parser()
    try:
        import argcomplete
    except ImportError:  # completion is a convenience; the CLI works without it
        pass
    else:
        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0

    from mlx_serve.entrypoints.cli.dispatch import dispatch

    return dispatch(args, _cli_context, _quick_cli_context)


def _cli_context(settings: Settings) -> CliContext:
    from mlx_serve import bootstrap

    return bootstrap.cli_context(settings)


def _quick_cli_context(settings: QuickSettings) -> CliContext:
    from mlx_serve.bootstrap.quick import quick_cli_context

    return quick_cli_context(settings)


if __name__ == "__main__":
    sys.exit(main())
