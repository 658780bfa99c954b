"""`mlx-serve start`: run the server (in the foreground for now)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlx_serve.entrypoints.cli.context import CliContext


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    """--host, --port and --preload: shared with any command that starts a server."""
    parser.add_argument("--host", help="address to listen on (default: MLX_SERVE_HOST)")
    parser.add_argument(
        "--port", type=int, help="port to listen on (default: MLX_SERVE_PORT, 8000)"
    )
    parser.add_argument(
        "--preload",
        dest="preload",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="load these models at startup (repeatable; also comma-separated)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "start", help="start the server", description="Start the mlx-serve HTTP server."
    )
    add_server_flags(parser)
    parser.add_argument(
        "--foreground", action="store_true", help="run in this terminal until Ctrl-C"
    )
    parser.set_defaults(handler=run, settings_overrides=settings_overrides)


def settings_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Flags that override settings (None = not given, so env/config/defaults apply)."""
    preload = None
    if args.preload:
        preload = [
            part.strip() for item in args.preload for part in item.split(",") if part.strip()
        ]
    return {"host": args.host, "port": args.port, "preload_models": preload}


def run(args: argparse.Namespace, context: CliContext) -> int:
    if args.foreground:
        return run_foreground(context)
    return run_background(args, context)


def run_foreground(context: CliContext) -> int:
    """Serve in this process until SIGINT/SIGTERM.

    Preload names that could escape the models directory stop the start at once. A name that
    is not installed only warns: the server reports it in /health and serves the others.
    """
    import sys

    from mlx_serve.domain.errors import ModelNotFound
    from mlx_serve.domain.names import validate_model_reference

    settings = context.settings
    for name in settings.preload_models:
        validate_model_reference(name, param="preload")
        if settings.auto_download:
            continue
        try:
            context.catalog.resolve(name)
        except ModelNotFound as exc:
            print(f"mlx-serve: warning: cannot preload: {exc.message}", file=sys.stderr)
    return context.serve(settings.host, settings.port, list(settings.preload_models))


def run_background(args: argparse.Namespace, context: CliContext) -> int:
    """Detached server, PID file, wait for /health: see commands/server.py."""
    from mlx_serve.entrypoints.cli.commands import server

    return server.run_background(args, context)
