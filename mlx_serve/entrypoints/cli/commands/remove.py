"""`mlx-serve remove`: delete an installed model."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlx_serve.entrypoints.cli.context import CliContext


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "remove",
        aliases=["rm"],
        help="delete an installed model",
        description="Delete an installed model (asks first when run on a terminal).",
    )
    parser.add_argument("model", help="installed name, repo id or alias")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, context: CliContext) -> int:
    import sys

    from mlx_serve.entrypoints.cli.output import confirm, human_size

    info = context.catalog.resolve(args.model)
    # Only a person at a terminal can answer; scripts piping into us mean what they typed.
    if not args.yes and sys.stdin.isatty():
        question = f"Remove model '{info.name}' ({human_size(info.size_bytes)})?"
        if not confirm(question):
            print("not removed")
            return 1
    context.catalog.remove(info.name)
    print(f"removed '{info.name}'")
    return 0
