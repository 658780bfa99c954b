"""Benchmark: host (CPU) time per forward pass of the embedding session, under MLX
environment settings, one process per setting (MLX reads them once).

    python -m tools.bench_forward_host --model-dir DIR [--shapes 1x16,16x32] [--iters 100]
        [--env ""] [--env MLX_MAX_OPS_PER_BUFFER=100,MLX_CUDA_USE_CUDNN_SDPA=0] ...

On a GPU the server's CPU per small request is mostly MLX's host work per pass (building,
encoding and launching the graph: decision 24); this measures that part alone, in process,
for a checkpoint ``mlx-serve pull`` would convert (it is converted once into a temporary
folder). Prints one markdown row per setting and shape: CPU ms and wall ms per pass.
Never used by tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(model: Path, shapes: list[tuple[int, int]], iters: int) -> None:
    from mlx_serve.adapters.mlx.embedding.session import EmbeddingSession
    from mlx_serve.adapters.mlx.runtime.placement import Runtime

    session = EmbeddingSession(model, 512, Runtime())
    results = {}
    for rows, length in shapes:
        batch = [[5] * length] * rows
        for _ in range(10):
            session._forward(batch, length)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(iters):
            session._forward(batch, length)
        results[f"{rows}x{length}"] = ((time.process_time() - cpu) / iters * 1e3,
                                       (time.perf_counter() - wall) / iters * 1e3)
    print("RESULT " + json.dumps(results))


def convert(source: Path) -> Path:
    from mlx_serve.adapters.mlx.convert.converter import MlxConverter
    from mlx_serve.domain.models import ModelType
    from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint

    target = Path(tempfile.mkdtemp(prefix="forward-host-")) / source.name
    MlxConverter().convert(FetchedCheckpoint(source, source.name, None), target,
                           ConversionOptions(model_type=ModelType.EMBEDDING))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--shapes", default="1x16,16x32")
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--env", action="append", default=None,
                        help="KEY=VALUE[,KEY=VALUE] for one run (repeatable; '' = defaults)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shapes = [tuple(int(x) for x in s.split("x")) for s in args.shapes.split(",")]
    if args.child:
        child(args.model_dir, shapes, args.iters)  # type: ignore[arg-type]
        return 0
    model = convert(args.model_dir)
    print(f"## {args.model_dir.name}: host ms per forward pass (CPU / wall)")
    print("| MLX environment | " + " | ".join(args.shapes.split(",")) + " |")
    print("|---|" + "---|" * len(shapes))
    for setting in args.env or [""]:
        extra = dict(item.split("=", 1) for item in setting.split(",") if item)
        run = subprocess.run(
            [sys.executable, "-m", "tools.bench_forward_host", "--child", "--model-dir",
             str(model), "--shapes", args.shapes, "--iters", str(args.iters)],
            env={**os.environ, **extra}, capture_output=True, text=True, check=False)
        lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            print(f"| {setting or 'defaults'} | failed: {run.stderr[-300:]!r} |")
            continue
        results = json.loads(lines[-1][len("RESULT "):])
        cells = " | ".join(f"{cpu:.2f} / {wall:.2f}" for cpu, wall in results.values())
        print(f"| {setting or 'defaults'} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
