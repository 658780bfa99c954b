"""The argument parser. Imported on every TAB completion: argparse and command modules only."""

from __future__ import annotations

import argparse

from mlx_serve import __version__
from mlx_serve.entrypoints.cli.commands import (
    completion,
    list_models,
    pull,
    remove,
    server,
    service,
    show_model,
    start,
)

# Each module's register(subparsers) adds one command; the order is the order of --help.
COMMANDS = [start, pull, list_models, show_model, remove, server, service, completion]


def build_parser() -> argparse.ArgumentParser:
    """The full `mlx-serve` parser, every command registered."""
    parser = argparse.ArgumentParser(
        prog="mlx-serve",
        description="Embedding and reranking server on Apple's MLX.",
    )
    parser.add_argument("--version", action="version", version=f"mlx-serve {__version__}")
    # Not required: a bare `mlx-serve` prints this help (see __main__) instead of argparse's
    # one-line "the following arguments are required".
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    completion.attach_completers(parser)
    return parser
