"""How long TAB takes: time argcomplete's answer for a few command lines (no assertions).

Usage: .venv/bin/python tools/bench_completion.py [--runs N]
Each run is a fresh `python -m mlx_serve` driven through argcomplete's environment protocol,
exactly as a shell does on TAB, so the numbers include interpreter start-up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.completion import complete  # noqa: E402

LINES = [
    "mlx-serve ",
    "mlx-serve st",
    "mlx-serve stop --",
    "mlx-serve remove ",
    "mlx-serve start --preload ",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import os

    with tempfile.TemporaryDirectory() as home:
        for index in range(20):  # a models directory with some entries to list
            model = Path(home, "models", f"model-{index:02d}")
            model.mkdir(parents=True)
            (model / "mlx-serve.json").write_text("{}")
        env = dict(os.environ, MLX_SERVE_HOME=home)
        print(f"{'command line':32} {'median ms':>10} {'min ms':>8} {'max ms':>8}  candidates")
        for line in LINES:
            times, words = [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                words = complete(line, env)
                times.append((time.perf_counter() - start) * 1000)
            print(
                f"{line!r:32} {statistics.median(times):10.0f} {min(times):8.0f} "
                f"{max(times):8.0f}  {len(words)}"
            )


if __name__ == "__main__":
    main()
