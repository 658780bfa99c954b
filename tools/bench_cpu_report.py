"""One command for the whole CPU benchmark set: runs each benchmark in turn, writes one report.

    python -m tools.bench_cpu_report --out report.md [--infinity-venv DIR] [--quick]
        [--only embeddings,http,rerank-http,rerank-qwen3,cli] [--overload]

Issue 11 wants the README's CPU tables to come from one run with every peer in it. Each
section is a separate process (a benchmark's BLAS set-up, threads and servers never leak into
the next), run in sequence so they do not compete for the cores, and each is written under the
exact command that produced it, so any figure can be reproduced from the line beside it:
in-process embeddings (engine vs sentence-transformers vs ONNX Runtime), embeddings over HTTP
(mlx-serve vs sentence-transformers and infinity-emb, with cold start), a cross-encoder reranked
over HTTP (mlx-serve vs infinity-emb vs CrossEncoder), the Qwen3-Reranker shape in process
(mlx-serve's engine vs the transformers recipe), the CLI timings, and optionally the overload
run. infinity-emb comes from its own venv (``bash tools/peers/infinity_venv.sh``); without it
the infinity columns are left out and the report says so. About 15-20 minutes on a 2-core CPU;
``--quick`` runs small sizes to check the set-up (its numbers are not for the README).
"""

from __future__ import annotations

import argparse
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tools.bench_targets import cpu_targets
from tools.bench_targets import markdown as targets_markdown
from tools.peers.infinity import DEFAULT_VENV


@dataclass(frozen=True)
class Section:
    """One benchmark run: a key for ``--only``, a heading, and its arguments after ``python``."""

    key: str
    title: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    section: Section
    output: str
    seconds: float
    returncode: int


def command_line(args: Sequence[str]) -> str:
    """The command as a person types it: ``python`` and shell-quoted arguments."""
    return " ".join(["python", *(shlex.quote(arg) for arg in args)])


def cpu_batch_tokens() -> int:
    """The server's default batch budget on a CPU: bench_rerank's own default (16,384) is the
    GPU's, so the in-process Qwen3 row is run at what the server would use here."""
    from mlx_serve.adapters.mlx.runtime.placement import BATCH_TOKENS_BY_DEVICE

    return BATCH_TOKENS_BY_DEVICE["cpu"]


def sections(infinity: Path | None, quick: bool, overload: bool) -> list[Section]:
    """The CPU set, in run order; ``quick`` shrinks every size for a set-up check."""
    peer = ("--infinity-venv", str(infinity)) if infinity is not None else ()
    size = {
        "texts": "40" if quick else "300",
        "repeats": "1" if quick else "3",
        "http_texts": "32" if quick else "160",
        "documents": "20" if quick else "100",
        "cli_runs": "3" if quick else "10",
    }
    found = [
        Section("embeddings", "Embeddings in process: engine, sentence-transformers, ONNX Runtime",
                ("-m", "tools.bench_embeddings", "--texts", size["texts"], "--repeats",
                 size["repeats"], "--no-server")),
        Section("http", "Embeddings over HTTP and cold start: mlx-serve, infinity-emb, "
                        "sentence-transformers",
                ("-m", "tools.bench_serving", "--texts", size["http_texts"], "--repeats",
                 "1" if quick else "2",
                 "--formats", "float", "--cases", f"1x1,16x1,4x32,1x{size['http_texts']}",
                 *peer)),
        Section("rerank-http", "Cross-encoder rerank over HTTP: mlx-serve, infinity-emb, "
                               "CrossEncoder",
                ("-m", "tools.bench_rerank_serving", "--documents", size["documents"],
                 "--repeats", size["repeats"], *peer)),
        Section("rerank-qwen3", "Qwen3-Reranker shape in process: mlx-serve engine vs the "
                                "transformers recipe",
                ("-m", "tools.bench_rerank", "--layers", "2", "--documents", size["documents"],
                 "--repeat", "1" if quick else "2", "--budget", str(cpu_batch_tokens()))),
        Section("cli", "CLI commands", ("-m", "tools.bench_cli", "--runs", size["cli_runs"])),
    ]
    if overload:
        found.append(Section("overload", "Admission control under overload",
                             ("-m", "tools.bench_overload", *(
                                 ("--requests", "64", "--texts", "16") if quick else ()))))
    return found


def run(section: Section, log: Path | None) -> Outcome:
    """Run one section with this interpreter; its stderr goes to ``log`` (progress bars)."""
    began = time.monotonic()
    sink = log.open("a") if log is not None else subprocess.DEVNULL
    try:
        done = subprocess.run([sys.executable, *section.args], stdout=subprocess.PIPE,
                              stderr=sink, text=True, check=False)
    finally:
        if log is not None:
            sink.close()
    return Outcome(section, done.stdout, time.monotonic() - began, done.returncode)


def machine() -> str:
    """CPU model and core count, for the report's header."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import os

    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def assemble(header: Sequence[str], outcomes: Sequence[Outcome]) -> str:
    """The markdown report: header lines, issue 11's targets judged from this run's output,
    then per section its heading, its exact command, how long it took, and its output
    (already markdown) or the failure."""
    judged = cpu_targets({outcome.section.key: outcome.output for outcome in outcomes})
    lines = ["# CPU benchmark report", "", *header, "", "## Targets (issue 11), this run", "",
             targets_markdown(judged), ""]
    for outcome in outcomes:
        section = outcome.section
        lines += [f"## {section.title}", "", f"`{command_line(section.args)}` "
                  f"({outcome.seconds:.0f} s)", ""]
        body = outcome.output.strip()
        if outcome.returncode != 0:
            # Negative: killed by a signal, which can come at interpreter exit after a
            # complete table (a native thread not joined), so say what happened, not more.
            lines += [f"**Exit status {outcome.returncode}**; its output as printed:", ""]
        lines += [body or "(no output)", ""]
    return "\n".join(lines).rstrip() + "\n"


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return (done.stdout.strip() or "unknown") + (" (uncommitted changes)" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="markdown report to write")
    parser.add_argument("--infinity-venv", type=Path, default=None,
                        help=f"infinity-emb venv (default {DEFAULT_VENV} when it exists)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a set-up check")
    parser.add_argument("--only", default=None, help="comma-separated section keys")
    parser.add_argument("--overload", action="store_true", help="add the overload run")
    args = parser.parse_args(argv)
    infinity = args.infinity_venv
    if infinity is None and (DEFAULT_VENV / "bin" / "infinity_emb").exists():
        infinity = DEFAULT_VENV
    keys = set(args.only.split(",")) if args.only else None
    chosen = sections(infinity, args.quick, args.overload or "overload" in (keys or ()))
    if keys is not None:
        unknown = keys - {section.key for section in chosen}
        if unknown:
            parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
        chosen = [section for section in chosen if section.key in keys]
    if infinity is not None:
        from tools.peers.infinity import version

        peer = f"infinity-emb from {infinity} ({version(infinity)})"
    else:
        peer = ("infinity-emb not measured: no venv (run `bash tools/peers/infinity_venv.sh` "
                "and pass --infinity-venv)")
    whole = command_line(["-m", "tools.bench_cpu_report", *(argv or sys.argv[1:])])
    header = [
        f"Whole report: `{whole}`",
        f"Started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; commit {git_commit()}; "
        f"Python {platform.python_version()}.",
        f"Peer server: {peer}.",
        "Runners within a section are interleaved; compare ratios, not seconds.",
    ]
    log = args.out.with_suffix(".log")
    log.write_text("")
    outcomes = []
    for section in chosen:
        print(f"running {section.key}: {command_line(section.args)}", file=sys.stderr, flush=True)
        outcomes.append(run(section, log))
        args.out.write_text(assemble(header, outcomes))  # partial report survives a crash
    print(f"wrote {args.out} (stderr of the runs: {log})", file=sys.stderr)
    return 0 if all(outcome.returncode == 0 for outcome in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
