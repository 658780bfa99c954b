"""Formatting for people: sizes, times, tables, and one-line errors."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlx_serve.domain.models import ModelInfo


def printable(text: str) -> str:
    """``text`` with control characters escaped, so echoed input cannot drive the terminal."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def error(message: str) -> None:
    """Print ``mlx-serve: error: <message>`` on stderr (argparse's own wording)."""
    print(f"mlx-serve: error: {printable(message)}", file=sys.stderr)


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def local_time(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, like `docker ps`."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; anything but y/yes is no."""
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def info_dict(info: ModelInfo) -> dict[str, Any]:
    """A model's metadata as recorded, plus where its files are."""
    return {**info.to_dict(), "path": str(info.path)}


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))
