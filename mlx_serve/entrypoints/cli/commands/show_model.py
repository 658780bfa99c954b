"""`mlx-serve show`: every recorded detail of one model."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlx_serve.entrypoints.cli.context import CliContext


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "show",
        help="show a model's metadata",
        description="Show an installed model's metadata (by name, repo id or alias).",
    )
    parser.add_argument("model", help="installed name, repo id or alias")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run, quick=True)


def run(args: argparse.Namespace, context: CliContext) -> int:
    from mlx_serve.entrypoints.cli.output import human_size, info_dict, local_time, print_json

    info = context.catalog.show(args.model)
    data = info_dict(info)
    if args.json:
        print_json(data)
        return 0
    data["size_bytes"] = f"{human_size(info.size_bytes)} ({info.size_bytes} bytes)"
    data["created"] = local_time(info.created)
    data["aliases"] = ", ".join(info.aliases) or None
    width = max(len(key) for key in data)
    for key, value in data.items():
        if key == "extra":
            continue
        print(f"{key.replace('_', ' ') + ':':<{width + 2}}{'-' if value is None else value}")
    for key, value in sorted(info.extra.items()):
        print(f"{key.replace('_', ' ') + ':':<{width + 2}}{value}")
    return 0
