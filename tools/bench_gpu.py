"""GPU check and benchmark: the MLX engine (``mlx[cuda13]``) beside transformers on CUDA.

    python -m tools.bench_gpu [--quick]

Run on a machine with an NVIDIA GPU, MLX's CUDA backend and PyTorch with CUDA. Random-weight
checkpoints of the real shapes (all-MiniLM-L6-v2, Qwen3-Embedding-0.6B) are built on the spot,
so nothing is downloaded. Prints two markdown tables:

1. parity on the GPU: a tiny Qwen3 embedding model through mlx-serve's engine (float32 and the
   "auto" half precision) against the official recipe in transformers on PyTorch CPU float32;
2. tokens/s of the engine's forward pass + pooling against transformers' forward pass + pooling
   on CUDA, same shapes and dtype, inputs given as token ids (no tokenisation on either side).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tools.tiny_checkpoints import build_qwen3_embedding, save_bert_tokenizer, save_qwen_tokenizer

MINILM = dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
              intermediate_size=1536, vocab_size=30522, max_position_embeddings=512)
QWEN3_06B = dict(hidden_size=1024, num_hidden_layers=28, num_attention_heads=16,
                 num_key_value_heads=8, head_dim=128, intermediate_size=3072,
                 vocab_size=151669, max_position_embeddings=32768, rope_theta=1_000_000.0,
                 tie_word_embeddings=True)
TOKEN_IDS = (5, 250)  # ids every tokenizer built here has: inputs are given as ids


def build_minilm(directory: Path) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    BertModel(BertConfig(**MINILM)).save_pretrained(directory)
    save_bert_tokenizer(directory)
    return directory


def build_qwen3(directory: Path) -> Path:
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    model = Qwen3ForCausalLM(Qwen3Config(**QWEN3_06B)).to(torch.bfloat16)
    model.save_pretrained(directory)
    save_qwen_tokenizer(directory, append_eos=True)
    return directory


def engine(source: Path, dtype: str, budget: int, device: str = "gpu"):
    """Convert ``source`` and load it on the GPU through mlx-serve's embedding engine."""
    from mlx_serve.adapters.mlx.convert.converter import MlxConverter
    from mlx_serve.adapters.mlx.embedding.engine import MlxEmbeddingEngine
    from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread
    from mlx_serve.domain.models import ModelInfo, ModelType
    from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint

    compute = ComputeThread()
    target = Path(tempfile.mkdtemp(prefix="gpu-bench-")) / source.name
    meta = compute.call(MlxConverter().convert, FetchedCheckpoint(source, source.name, None),
                        target, ConversionOptions(model_type=ModelType.EMBEDDING))
    info = ModelInfo(name=source.name, type=ModelType.EMBEDDING, source=source.name,
                     architecture=meta["architecture"], dimensions=meta["dimensions"],
                     max_length=meta["max_length"], dtype=meta["dtype"], size_bytes=0,
                     created=0.0, path=target)
    return MlxEmbeddingEngine(compute, budget, dtype=dtype, device=device).load_blocking(info)


def parity(tiny: Path, device: str) -> list[str]:
    """Cosine of the engine on the GPU against the recipe in transformers (CPU, float32)."""
    import torch
    from transformers import AutoModel

    from mlx_serve.domain.inference import EmbedRequest

    rng = np.random.default_rng(0)
    rows = [[int(t) for t in rng.integers(*TOKEN_IDS, size=n)] for n in (3, 17, 64, 200, 511)]
    reference = AutoModel.from_pretrained(tiny, dtype=torch.float32).eval()
    expected = []
    with torch.no_grad():
        for ids in rows:  # one at a time: no padding, last token = the end of the text
            hidden = reference(input_ids=torch.tensor([ids])).last_hidden_state[0, -1]
            expected.append(torch.nn.functional.normalize(hidden, dim=0).numpy())
    lines = ["| dtype on the GPU | lowest cosine to transformers float32 |", "|---|---|"]
    for dtype in ("float32", "auto"):
        model = engine(tiny, dtype, 4096, device)
        got = np.asarray(model.embed_blocking(EmbedRequest(rows)).vectors)
        cosine = min(
            float(np.dot(g, e) / np.linalg.norm(e)) for g, e in zip(got, expected, strict=True)
        )
        lines.append(f"| {dtype} | {cosine:.6f} |")
    return lines


def timed(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up: kernels, compilation
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - start) / repeats


def throughput(name: str, source: Path, shapes: list[tuple[int, int]], repeats: int,
               device: str) -> list[str]:
    import torch
    from transformers import AutoModel

    from mlx_serve.domain.inference import EmbedRequest

    half = torch.bfloat16 if "qwen" in name.lower() else torch.float16
    torch_device = "cuda" if device == "gpu" else "cpu"
    if device == "cpu":
        half = torch.float32  # the engine's "auto" on a CPU
    reference = AutoModel.from_pretrained(source, dtype=half).to(torch_device).eval()
    budget = max(batch * length for batch, length in shapes)
    ours = engine(source, "auto", budget, device)
    lines = []
    for batch, length in shapes:
        ids = np.random.default_rng(1).integers(*TOKEN_IDS, size=(batch, length))
        request = EmbedRequest([[int(t) for t in row] for row in ids])
        tensor = torch.tensor(ids, device=torch_device)

        def torch_run(tensor: torch.Tensor = tensor) -> None:
            with torch.no_grad():
                hidden = reference(input_ids=tensor).last_hidden_state
                pooled = hidden[:, -1] if "qwen" in name.lower() else hidden.mean(dim=1)
                torch.nn.functional.normalize(pooled.float(), dim=-1).cpu()
            if torch_device == "cuda":
                torch.cuda.synchronize()

        mlx_s = timed(lambda: ours.embed_blocking(request), repeats)  # noqa: B023
        torch_s = timed(torch_run, repeats)
        tokens = batch * length
        lines.append(f"| {name} | {batch} x {length} | {str(half).split('.')[-1]} | "
                     f"{tokens / mlx_s / 1e3:,.0f} k | {tokens / torch_s / 1e3:,.0f} k | "
                     f"{torch_s / mlx_s:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    parser.add_argument("--device", choices=("gpu", "cpu"), default="gpu",
                        help="cpu: a dry run of this script on a machine without a GPU")
    args = parser.parse_args(argv)
    from mlx_serve.adapters.mlx.runtime.blas import activate_blas

    activate_blas(None)  # before mlx.core is imported (matters on a Linux CPU only)
    repeats = 3 if args.quick else 10
    root = Path(tempfile.mkdtemp(prefix="gpu-models-"))
    print("\n".join(parity(build_qwen3_embedding(root / "Qwen3-Embedding-tiny"), args.device)))
    print()
    print("| model (random weights) | batch x length | dtype | mlx-serve tokens/s "
          "| transformers tokens/s | mlx-serve / transformers |")
    print("|---|---|---|---|---|---|")
    minilm = [(256, 128), (64, 512), (8, 64)] if not args.quick else [(64, 128)]
    qwen = [(64, 512), (16, 2048), (1, 64)] if not args.quick else [(8, 256)]
    print("\n".join(throughput("MiniLM-L6 (BERT, 22M)", build_minilm(root / "minilm"),
                               minilm, repeats, args.device)))
    print("\n".join(throughput("Qwen3-Embedding-0.6B", build_qwen3(root / "Qwen3-Embedding-0.6B"),
                               qwen, repeats, args.device)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
