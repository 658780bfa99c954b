"""Benchmark: throughput of one replica and of two behind nginx, side by side in one run.

    .venv/bin/python -m tools.bench_replicas [--seconds 10] [--concurrency 8] [--batch 8]

Starts two real replicas over one shared models directory (all-MiniLM-L6-v2) and the
shipped nginx configuration (deploy/nginx/mlx-serve.conf) on loopback, then sends
``--concurrency`` clients' worth of ``POST /v1/embeddings`` (``--batch`` texts each) for
``--seconds`` per row: one replica directly, one replica behind nginx, two behind nginx.
Prints a markdown table with the ratios; absolute numbers on a shared machine are noisy,
the ratios measured in the same run are what to compare. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.nginx import start_nginx
from tests.support.replicas import MINILM, shared_models_dir, start_replica
from tools.bench_embeddings import make_texts

WARMUP_SECONDS = 2.0


def measure(url: str, texts: list[str], *, seconds: float, concurrency: int, batch: int) -> dict:
    """Requests and texts per second over ``seconds`` of steady load (after a warm-up)."""
    counts = {"requests": 0, "errors": 0}
    lock = threading.Lock()
    start = time.monotonic()
    measure_from, stop_at = start + WARMUP_SECONDS, start + WARMUP_SECONDS + seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            n = index
            while (now := time.monotonic()) < stop_at:
                chosen = [texts[(n + i) % len(texts)] for i in range(batch)]
                body = {"model": MINILM, "input": chosen}
                n += batch
                ok = http.post("/v1/embeddings", json=body).status_code == 200
                if time.monotonic() <= stop_at and now >= measure_from:
                    with lock:
                        counts["requests" if ok else "errors"] += 1

    threads = [threading.Thread(target=client, args=(i * 7,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = counts["requests"] / seconds
    return {"requests/s": rate, "texts/s": rate * batch, "errors": counts["errors"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    texts = [text for text in make_texts(200) if len(text.split()) < 60]

    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        root = Path(tmp)
        models = shared_models_dir(root)
        replicas = [start_replica(root / name, models, replica_name=name) for name in "ab"]
        stoppers: list[Callable[[], object]] = [r.stop for r in replicas]
        try:
            a, b = replicas
            # nginx with replica a listed twice is nginx in front of one replica.
            one = start_nginx([a.port, a.port], root / "nginx-one")
            stoppers.append(one.stop)
            two = start_nginx([a.port, b.port], root / "nginx-two")
            stoppers.append(two.stop)
            rows = [
                ("1 replica, direct", a.base_url),
                ("1 replica behind nginx", one.base_url),
                ("2 replicas behind nginx", two.base_url),
            ]
            results = []
            for label, url in rows:
                result = measure(url, texts, seconds=args.seconds,
                                 concurrency=args.concurrency, batch=args.batch)  # fmt: skip
                result["load"] = os.getloadavg()[0]
                results.append((label, result))
        finally:
            for stop in reversed(stoppers):
                stop()

    base = results[1][1]["texts/s"] or 1.0
    print(f"\n{os.cpu_count()} CPUs; {args.concurrency} clients, {args.batch} texts per request, "
          f"{args.seconds:g} s per row\n")  # fmt: skip
    print("| setup | requests/s | texts/s | vs 1 replica behind nginx | errors | load avg |")
    print("|---|---|---|---|---|---|")
    for label, r in results:
        print(f"| {label} | {r['requests/s']:.1f} | {r['texts/s']:.0f} | "
              f"{r['texts/s'] / base:.2f}x | {r['errors']} | {r['load']:.1f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
