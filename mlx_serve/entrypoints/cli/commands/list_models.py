"""`mlx-serve list`: installed models."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlx_serve.entrypoints.cli.context import CliContext


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list", aliases=["ls"], help="list installed models", description="List installed models."
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run, quick=True)


def run(args: argparse.Namespace, context: CliContext) -> int:
    from mlx_serve.entrypoints.cli.output import (
        human_size,
        info_dict,
        local_time,
        print_json,
        table,
    )

    models = context.catalog.list()
    if args.json:
        print_json([info_dict(info) for info in models])
        return 0
    if not models:
        print("no models installed (install one with: mlx-serve pull <model>)")
        return 0
    rows = [
        [
            info.name,
            info.type.value,
            human_size(info.size_bytes),
            info.quantization or "-",
            local_time(info.created),
        ]
        for info in models
    ]
    print(table(["NAME", "TYPE", "SIZE", "QUANTIZATION", "MODIFIED"], rows))
    return 0
