"""`mlx-serve pull`: fetch, convert and install a model."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlx_serve.entrypoints.cli.context import CliContext


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pull",
        help="download (or import) and convert a model",
        description="Install a model from a Hugging Face repo id, an alias, or a local "
        "directory in Hugging Face layout (config.json + weights).",
    )
    parser.add_argument("source", help="repo id (org/name), alias, or directory")
    parser.add_argument(
        "--type",
        dest="model_type",
        choices=["embedding", "reranker"],
        help="model type (inferred from the checkpoint when omitted)",
    )
    parser.add_argument("--name", help="installed name (default: the source's last part)")
    parser.add_argument("--dtype", choices=["float16", "bfloat16", "float32"], help="weight dtype")
    parser.add_argument(
        "--quantize", type=int, choices=[4, 8], metavar="{4,8}", help="quantize weights to N bits"
    )
    parser.add_argument("--revision", help="branch, tag or commit of a Hub repo")
    parser.add_argument("--force", action="store_true", help="replace an installed model")
    parser.add_argument(
        "--keep-original",
        action="store_true",
        help="also keep the original checkpoint files (under original/)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, context: CliContext) -> int:
    from mlx_serve.entrypoints.cli.output import human_size
    from mlx_serve.entrypoints.cli.progress import ProgressPrinter

    progress = ProgressPrinter()
    try:
        info = context.catalog.pull(
            args.source,
            model_type=args.model_type,
            name=args.name,
            dtype=args.dtype,
            quantize=args.quantize,
            revision=args.revision,
            force=args.force,
            keep_original=args.keep_original,
            progress=progress,
        )
    finally:
        progress.finish()
    print(f"pulled '{info.name}' ({info.type.value}, {human_size(info.size_bytes)})")
    return 0
