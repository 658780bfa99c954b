"""Summarise a py-spy raw profile (``py-spy record -f raw``, e.g. from
``tools/bench_serving.py --profile``): samples per thread, then the frames with the most
samples below them (inclusive) and at the top of the stack (leaf), for one thread or all.

    python -m tools.profile_summary PROFILE.txt [--thread mlx-compute] [--top 40]

Samples in a thread's idle waits (epoll, futex, queue get) are counted too: read a frame's
share against its thread's busy frames, not against the thread's total.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--thread", default=None, help="only threads whose name holds this")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        thread, *frames = stack.split(";")
        threads[thread] += samples
        if args.thread and args.thread not in thread:
            continue
        if frames:
            leaves[frames[-1]] += samples
        for frame in set(frames):  # a recursive frame counts once per sample
            inclusive[frame] += samples
    for title, counter in (("threads", threads), ("inclusive", inclusive), ("leaf", leaves)):
        print(f"## {title}")
        for frame, samples in counter.most_common(args.top):
            print(f"{samples:8d}  {frame[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
