"""Issue 11's CPU targets, read off the benchmarks' printed output into one table.

The benchmarks print markdown tables and a few ``label: value`` lines; this module reads them
(``tables``), picks the figure each target is judged by, and says per target whether it is met,
not measured (a section missing or failed), or not. Used by tools/bench_cpu_report.py, so the
targets table in a report comes from the same run as the sections below it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Row = dict[str, str]
CLI_COMMANDS = ("status", "stop", "list", "show")


def tables(markdown: str) -> list[list[Row]]:
    """Every pipe table in ``markdown`` as a list of rows keyed by the header's cells."""
    found: list[list[Row]] = []
    lines = [line.strip() for line in markdown.splitlines()]
    for index, line in enumerate(lines[:-1]):
        if line.startswith("|") and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[index + 1]):
            header = _cells(line)
            rows = []
            for body in lines[index + 2:]:
                if not body.startswith("|"):
                    break
                rows.append(dict(zip(header, _cells(body), strict=False)))
            found.append(rows)
    return found


def _cells(line: str) -> list[str]:
    return [cell.strip().strip("`").strip() for cell in line.strip().strip("|").split("|")]


def number(text: str | None) -> float | None:
    """The first number in a cell (``1.45``, ``**0.52x**``, ``1,024``), else None."""
    if text is None:
        return None
    match = re.search(r"-?\d[\d,]*(?:\.\d+)?", text)
    return float(match.group().replace(",", "")) if match else None


def find_row(markdown: str, first_cell: Callable[[str], bool]) -> Row | None:
    """The first row of any table whose first cell satisfies ``first_cell``."""
    for table in tables(markdown):
        for row in table:
            if row and first_cell(next(iter(row.values()))):
                return row
    return None


def line_value(markdown: str, pattern: str) -> float | None:
    """The number captured by ``pattern``'s first group on any line."""
    match = re.search(pattern, markdown, flags=re.MULTILINE)
    return float(match.group(1)) if match else None


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    met: str  # "yes", "no" or "not measured"


def _judge(name: str, values: Mapping[str, float | None], passes: Callable[[float], bool],
           unit: str = "x") -> Target:
    present = {label: value for label, value in values.items() if value is not None}
    if not present:
        return Target(name, "-", "not measured")
    measured = "; ".join(f"{label}: {value:.2f}{unit}" if label else f"{value:.2f}{unit}"
                         for label, value in present.items())
    if len(present) < len(values):
        missing = ", ".join(label for label in values if values[label] is None)
        return Target(name, f"{measured}; {missing} missing", "not measured")
    return Target(name, measured, "yes" if all(map(passes, present.values())) else "no")


def _ratio(row: Row | None, column: str) -> float | None:
    return number(row.get(column)) if row else None


def cpu_targets(outputs: Mapping[str, str]) -> list[Target]:
    """The targets, judged from each section's output (keyed as in bench_cpu_report)."""
    embeddings = outputs.get("embeddings", "")
    engine = find_row(embeddings, lambda cell: cell.startswith("mlx-serve engine"))
    onnx = find_row(embeddings, lambda cell: cell.startswith("ONNX Runtime"))
    engine_rate, onnx_rate = _ratio(engine, "texts/s"), _ratio(onnx, "texts/s")
    http = outputs.get("http", "")
    cases = {}
    for label, prefix in (("1 x 1", "HTTP 1 x 1,"), ("16 x 1", "HTTP 16 x 1,"),
                          ("4 x 32", "HTTP 4 x 32,")):
        cases[label] = _ratio(find_row(http, lambda cell, p=prefix: cell.startswith(p)),
                              "ratio to infinity-emb")
    whole = find_row(http, lambda cell: re.match(r"HTTP 1 x (\d+),", cell) is not None
                     and cell not in ("HTTP 1 x 1, float", "HTTP 1 x 1, base64"))
    cases["1 request x all"] = _ratio(whole, "ratio to infinity-emb")
    rerank = find_row(outputs.get("rerank-http", ""), lambda cell: cell.startswith("mlx-serve"))
    qwen3 = find_row(outputs.get("rerank-qwen3", ""), lambda cell: cell.startswith("Qwen3"))
    cli = outputs.get("cli", "")
    seconds: dict[str, float | None] = {}
    for table in tables(cli):  # every row of a command the target names (status: two rows)
        for row in table:
            command = next(iter(row.values())).removeprefix("mlx-serve ")
            if command.split(" ")[0] in CLI_COMMANDS:
                seconds[command] = number(row.get("median s"))
    for name in CLI_COMMANDS:
        if not any(command.split(" ")[0] == name for command in seconds):
            seconds[name] = None
    return [
        _judge("CPU in process: engine >= 1.2x sentence-transformers",
               {"": _ratio(engine, "ratio to sentence-transformers")}, lambda v: v >= 1.2),
        _judge("CPU in process: engine >= 1.0x ONNX Runtime",
               {"": engine_rate / onnx_rate if engine_rate and onnx_rate else None},
               lambda v: v >= 1.0),
        _judge("CPU over HTTP: >= 1.5x infinity-emb in each case", cases, lambda v: v >= 1.5),
        _judge("CPU over HTTP: never slower under 16 clients than with one",
               {"16 x 1 / 1 x 1": line_value(http, r"16 clients against 1 \(float\): ([\d.]+)x")},
               lambda v: v >= 1.0),
        _judge("CPU rerank over HTTP: cross-encoder >= 1.5x infinity-emb",
               {"": _ratio(rerank, "ratio to infinity-emb")}, lambda v: v >= 1.5),
        _judge("CPU rerank over HTTP: cross-encoder >= 1.2x CrossEncoder",
               {"": _ratio(rerank, "ratio to CrossEncoder")}, lambda v: v >= 1.2),
        _judge("CPU rerank: Qwen3-Reranker shape >= 1.5x the transformers recipe",
               {"": _ratio(qwen3, "ratio")}, lambda v: v >= 1.5),
        _judge("Cold start: first request after --preload within 2x of warm",
               {"": line_value(http, r"^cold start:.*\(([\d.]+)x\)")}, lambda v: v <= 2.0),
        _judge("CLI: status, stop, list, show <= 0.3 s",
               seconds, lambda v: v <= 0.3, unit=" s"),
    ]


def markdown(targets: list[Target]) -> str:
    lines = ["| target | measured | met? |", "|---|---|---|"]
    lines += [f"| {t.name} | {t.measured} | {t.met} |" for t in targets]
    return "\n".join(lines)
