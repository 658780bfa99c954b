"""`mlx-serve completion bash|zsh|fish` and the completers argcomplete calls on TAB.

Runs on every TAB press: standard library only, nothing imported from the rest of mlx-serve.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

# The line for each shell's rc file. argcomplete >= 3 completes zsh natively.
RC_LINES = {
    "bash": ("~/.bashrc", 'eval "$(register-python-argcomplete mlx-serve)"'),
    "zsh": ("~/.zshrc", 'eval "$(register-python-argcomplete mlx-serve)"'),
    "fish": (
        "~/.config/fish/config.fish",
        "register-python-argcomplete --shell fish mlx-serve | source",
    ),
}
# Arguments whose values are installed model names.
_MODEL_DESTS = {"model", "models"}
_MODEL_OPTIONS = {"--preload"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "completion",
        help="print the shell line that enables TAB completion",
        description="Print the line to add to your shell's rc file for TAB completion of "
        "commands, options and installed model names.",
    )
    parser.add_argument("shell", choices=sorted(RC_LINES))
    parser.set_defaults(handler=run, needs_context=False)


def run(args: argparse.Namespace, context: Any) -> int:
    rc_file, line = RC_LINES[args.shell]
    # The comment keeps `eval "$(mlx-serve completion bash)"` working as well.
    print(f"# add this line to {rc_file}:")
    print(line)
    return 0


def models_dir() -> Path:
    """Where models are installed, from the environment alone (no settings import: TAB speed)."""
    explicit = os.environ.get("MLX_SERVE_MODELS_DIR")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("MLX_SERVE_HOME") or "~/.mlx-serve"
    return Path(home).expanduser() / "models"


def installed_model_names(prefix: str = "", **_: Any) -> list[str]:
    """argcomplete completer: names of installed models (directories with metadata)."""
    try:
        entries = list(os.scandir(models_dir()))
    except OSError:
        return []
    return sorted(
        entry.name
        for entry in entries
        if not entry.name.startswith(".")
        and entry.name.startswith(prefix)
        and entry.is_dir()
        and os.path.isfile(os.path.join(entry.path, "mlx-serve.json"))
    )


def attach_completers(parser: argparse.ArgumentParser) -> None:
    """Complete model names wherever a command takes one (positional `model`, `--preload`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                attach_completers(subparser)
        elif action.dest in _MODEL_DESTS or _MODEL_OPTIONS & set(action.option_strings):
            action.completer = installed_model_names  # type: ignore[attr-defined]
