"""Benchmark: throughput of one replica and of two behind nginx, side by side in one run.

    .venv/bin/python -m tools.bench_replicas [--seconds 15] [--concurrency 8] [--batch 4]

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


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU time the processes ``pids`` have used so far (Linux /proc)."""
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    except (OSError, IndexError, ValueError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


def measure(
    url: str, texts: list[str], *, seconds: float, concurrency: int, batch: int, pids: list[int]
) -> dict:
    """Requests and texts per second over ``seconds`` of steady load (after a warm-up), and
    the CPU the replicas ``pids`` used meanwhile (cores busy, on average)."""
    counts = {"requests": 0, "errors": 0}
    lock = threading.Lock()
    start = time.monotonic()
    measure_from, stop_at = start + WARMUP_SECONDS, start + WARMUP_SECONDS + seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            n = index
            while time.monotonic() < stop_at:
                chosen = [texts[(n + i) % len(texts)] for i in range(batch)]
                body = {"model": MINILM, "input": chosen}
                n += batch
                ok = http.post("/v1/embeddings", json=body).status_code == 200
                # Completions inside the measured window: throughput, whatever the latency.
                if measure_from <= time.monotonic() <= stop_at:
                    with lock:
                        counts["requests" if ok else "errors"] += 1

    threads = [threading.Thread(target=client, args=(i * 7,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, measure_from - time.monotonic()))
    cpu_before = cpu_seconds(pids)
    time.sleep(max(0.0, stop_at - time.monotonic()))
    cpu_after = cpu_seconds(pids)
    for thread in threads:
        thread.join()
    rate = counts["requests"] / seconds
    busy = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / seconds
    return {"requests/s": rate, "texts/s": rate * batch, "errors": counts["errors"], "cores": busy}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    # Short texts (queries, chunks of a sentence or two): the common case of an embedding API.
    texts = [text for text in make_texts(300) if len(text.split()) <= 24]

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
                ("1 replica, direct", a.base_url, [a.pid]),
                ("1 replica behind nginx", one.base_url, [a.pid]),
                ("2 replicas behind nginx", two.base_url, [a.pid, b.pid]),
            ]
            results = []
            for label, url, pids in rows:
                result = measure(url, texts, seconds=args.seconds, pids=pids,
                                 concurrency=args.concurrency, batch=args.batch)  # fmt: skip
                result["load"] = os.getloadavg()[0]
                results.append((label, result))
        finally:
            for stop in reversed(stoppers):
                stop()

    base = results[1][1]["texts/s"] or 1.0
    print(f"\n{os.cpu_count()} CPUs; {args.concurrency} clients, {args.batch} texts per request, "
          f"{args.seconds:g} s per row\n")  # fmt: skip
    print("| setup | requests/s | texts/s | vs 1 replica behind nginx | replicas' cores busy "
          "| errors | load avg |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for label, r in results:
        cores = "n/a" if r["cores"] is None else f"{r['cores']:.2f}"
        ratio = r["texts/s"] / base
        print(f"| {label} | {r['requests/s']:.1f} | {r['texts/s']:.0f} | {ratio:.2f}x | "
              f"{cores} | {r['errors']} | {r['load']:.1f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
