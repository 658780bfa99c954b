"""Benchmark: a cross-encoder reranked over HTTP by mlx-serve, by infinity-emb, and in process.

    python -m tools.bench_rerank_serving [--documents 100] [--repeats 3]
        [--model-dir DIR] [--infinity-venv DIR] [--json PATH]

Issue 11's rerank target: 1 query x ``--documents`` documents (5 to 200 words, the documents of
tools/bench_rerank.py); mlx-serve's ``/v1/rerank`` against infinity-emb's ``/rerank`` (torch,
CPU; only with ``--infinity-venv``, see tools/peers/infinity_venv.sh) and sentence-transformers'
``CrossEncoder.predict`` in this process (batch 32, infinity's batch size too). Runners are
interleaved per round; the median of ``--repeats`` rounds is reported as pairs/s with each
one's ratio to CrossEncoder and to infinity. Without ``--model-dir`` the model is the
ms-marco-MiniLM-L-6-v2 shape with random weights (built as a Hugging Face checkpoint both
servers load). Also prints the largest score difference of each server against CrossEncoder,
so a fast wrong answer shows. The Qwen3-Reranker comparison stays in tools/bench_rerank.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tools.bench_serving import start_server, stop

QUERY = "what is the capital of france and which river runs through it"
CROSS_ENCODER = "sentence-transformers CrossEncoder in process (batch 32)"
MLX_SERVE = "mlx-serve HTTP /v1/rerank"
INFINITY = "infinity-emb HTTP /rerank"


def http_rerank(url: str, path: str, name: str, docs: list[str]) -> Callable[[], list[float]]:
    """One request of all documents; returns scores in document order."""
    http = httpx.Client(base_url=url, timeout=600)

    def run() -> list[float]:
        body = {"model": name, "query": QUERY, "documents": docs, "return_documents": False}
        response = http.post(path, json=body)
        response.raise_for_status()
        scores = [0.0] * len(docs)
        for result in response.json()["results"]:
            scores[result["index"]] = result["relevance_score"]
        return scores

    return run


def cross_encoder(model_dir: Path, docs: list[str]) -> Callable[[], list[float]]:
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(model_dir), device="cpu")
    pairs = [(QUERY, doc) for doc in docs]
    return lambda: [float(score) for score in model.predict(pairs, batch_size=32)]


def measure(runners: dict[str, Callable[[], list[float]]], repeats: int
            ) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Median seconds per runner (interleaved rounds, after one warm-up) and its scores."""
    scores = {key: run() for key, run in runners.items()}
    times: dict[str, list[float]] = {key: [] for key in runners}
    for _ in range(repeats):
        for key, run in runners.items():
            began = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - began)
    return {key: statistics.median(value) for key, value in times.items()}, scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="a cross-encoder checkpoint (default: the MiniLM shape, random)")
    parser.add_argument("--infinity-venv", type=Path, default=None,
                        help="infinity-emb venv (tools/peers/infinity_venv.sh): a peer")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for mlx-serve")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from tools.bench_rerank import build_minilm_cross_encoder, documents

    docs = documents(args.documents)
    env = dict(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory(prefix="bench-rerank-") as tmp:
        model_dir = args.model_dir
        if model_dir is None:
            model_dir = Path(tmp) / "ms-marco-MiniLM-L-6-shape"
            build_minilm_cross_encoder(model_dir)
        server, url, _ = start_server(model_dir, "bench-rerank", env, model_type="reranker")
        infinity = None
        try:
            runners = {MLX_SERVE: http_rerank(url, "/v1/rerank", "bench-rerank", docs)}
            if args.infinity_venv is not None:
                from tools.peers.infinity import InfinityServer

                infinity = InfinityServer(args.infinity_venv, model_dir)
                runners[INFINITY] = http_rerank(infinity.url, "/rerank", infinity.name, docs)
            runners[CROSS_ENCODER] = cross_encoder(model_dir, docs)
            seconds, scores = measure(runners, args.repeats)
        finally:
            if infinity is not None:
                infinity.stop()
            stop(server)
    rates = {key: len(docs) / value for key, value in seconds.items()}
    print(f"1 query x {len(docs)} documents (5-200 words), {model_dir.name}, "
          f"median of {args.repeats} interleaved rounds\n")
    print("| runner | pairs/s | ratio to CrossEncoder | ratio to infinity-emb "
          "| max score diff to CrossEncoder |")
    print("|---|---:|---:|---:|---:|")
    for key, rate in rates.items():
        peer = rates.get(INFINITY)
        diff = max(abs(a - b) for a, b in zip(scores[key], scores[CROSS_ENCODER], strict=True))
        print(f"| {key} | {rate:.2f} | {rate / rates[CROSS_ENCODER]:.2f} | "
              f"{f'{rate / peer:.2f}' if peer else '-'} | {diff:.2g} |")
    if args.json:
        args.json.write_text(json.dumps({"pairs_per_s": rates, "documents": len(docs)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
