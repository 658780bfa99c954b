"""Reranker parity: the served MLX path against the reference recipes on transformers.

Tiny random-weight checkpoints are built at test time (tests/integration/tiny_rerankers.py),
converted by MlxConverter as ``mlx-serve pull`` would, loaded by MlxReranker and compared with
tools/rerank_reference.py (PyTorch, CPU, float32): |score difference| <= 1e-4 on every pair
and the same ranking, across batches of very different lengths, with and without an
instruction, with documents long enough to be cut to the model's maximum.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mlx_serve.domain.inference import RerankRequest
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint
from tests.support.ranking import assert_same_ranking

pytestmark = pytest.mark.slow

TOLERANCE = 1e-4
QUERY = "what is the capital of france"
TEXT = (
    "paris is the capital of france and the quick brown fox jumps over the lazy dog while "
    "a web search query retrieves relevant passages that answer the question"
)
WORDS = TEXT.split(" ")


def document(seed: int, words: int) -> str:
    """A deterministic document of about ``words`` words drawn from WORDS."""
    return " ".join(WORDS[(seed * 7 + i * (seed % 5 + 1)) % len(WORDS)] for i in range(words))


# Very different lengths: empty, a word, sentences, and documents far over the maximum.
DOCUMENTS = [
    "paris is the capital of france",
    "",
    "no",
    document(1, 3),
    document(2, 12),
    document(3, 40),
    document(4, 400),
    document(5, 7),
    "the lazy dog",
    document(6, 150),
    "yes",
    document(7, 25),
]


def convert(source: Path, destination: Path, name: str) -> ModelInfo:
    """What ``mlx-serve pull <dir>`` does to a checkpoint, without the store."""
    from mlx_serve.adapters.mlx.convert.converter import MlxConverter

    metadata = MlxConverter().convert(
        FetchedCheckpoint(source, str(source), None),
        destination,
        ConversionOptions(model_type=None),
    )
    return ModelInfo(
        name=name, source=str(source), size_bytes=0, created=0.0, path=destination, **metadata
    )


class Served:
    """A reranker loaded by MlxReranker, called the way the residency cache calls it."""

    def __init__(self, info: ModelInfo, max_batch_tokens: int, share_prefix: bool = True,
                 cpu_engine: str = "auto") -> None:
        from mlx_serve.adapters.mlx.rerank.engine import MlxReranker
        from mlx_serve.adapters.mlx.runtime.compute_thread import ComputeThread

        self.info = info
        self.compute = ComputeThread()
        self.engine = MlxReranker(
            self.compute, max_batch_tokens, "float32", "cpu", share_prefix=share_prefix,
            cpu_engine=cpu_engine,
        )
        self.model = asyncio.run(self.engine.load(info))

    def rerank(self, documents, instruction=None, max_tokens_per_doc=None, query=QUERY):
        request = RerankRequest(query, list(documents), instruction, max_tokens_per_doc)
        return asyncio.run(self.model.rerank(request))

    def close(self) -> None:
        asyncio.run(self.engine.unload(self.model))
        self.compute.close()


@pytest.fixture(scope="module")
def qwen3_checkpoint(tmp_path_factory):
    from tests.integration import tiny_rerankers as tiny
    from tools import rerank_reference

    root = tmp_path_factory.mktemp("qwen3-reranker")
    source = tiny.build_qwen3_reranker(root / "Qwen3-Reranker-tiny")
    info = convert(source, root / "converted", "qwen3-reranker-tiny")
    assert info.type is ModelType.RERANKER
    return info, rerank_reference.Qwen3RerankerReference(source, max_length=info.max_length)


def _qwen3(checkpoint, share_prefix: bool):
    info, reference = checkpoint
    # A small budget: the 12 documents are scored in several batches of different lengths.
    served = Served(info, max_batch_tokens=600, share_prefix=share_prefix)
    return served, reference


@pytest.fixture(scope="module")
def qwen3(qwen3_checkpoint):
    """The served path: the prompt head shared by all pairs is computed once."""
    served, reference = _qwen3(qwen3_checkpoint, share_prefix=True)
    yield served, reference
    served.close()


@pytest.fixture(scope="module")
def qwen3_left_padded(qwen3_checkpoint):
    """The official code's layout: whole pairs, left-padded batches."""
    served, reference = _qwen3(qwen3_checkpoint, share_prefix=False)
    yield served, reference
    served.close()


def _cross_encoder(tmp_path_factory, family: str, cpu_engine: str):
    """A tiny BERT or XLM-R cross-encoder on ``cpu_engine`` ("auto": ONNX Runtime here)."""
    from tests.integration import tiny_rerankers as tiny
    from tools import rerank_reference

    build = {"bert": tiny.build_bert_cross_encoder,
             "xlm_roberta": tiny.build_xlm_roberta_cross_encoder}[family]
    root = tmp_path_factory.mktemp(f"{family}-cross-encoder-{cpu_engine}")
    source = build(root / f"{family}-cross-encoder-tiny")
    info = convert(source, root / "converted", f"{family}-cross-encoder-tiny")
    assert info.type is ModelType.RERANKER
    served = Served(info, max_batch_tokens=200, cpu_engine=cpu_engine)
    # Both engines are checked against the reference: auto picks ONNX Runtime on this CPU.
    assert served.model.session.engine == ("mlx" if cpu_engine == "mlx" else "onnxruntime")
    return served, rerank_reference.CrossEncoderReference(source, max_length=info.max_length)


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory):
    served, reference = _cross_encoder(tmp_path_factory, "bert", "auto")
    yield served, reference
    served.close()


@pytest.fixture(scope="module")
def cross_encoder_mlx(tmp_path_factory):
    served, reference = _cross_encoder(tmp_path_factory, "bert", "mlx")
    yield served, reference
    served.close()


@pytest.fixture(scope="module")
def xlm_roberta(tmp_path_factory):
    served, reference = _cross_encoder(tmp_path_factory, "xlm_roberta", "auto")
    yield served, reference
    served.close()


@pytest.fixture(scope="module")
def xlm_roberta_mlx(tmp_path_factory):
    served, reference = _cross_encoder(tmp_path_factory, "xlm_roberta", "mlx")
    yield served, reference
    served.close()


@pytest.fixture(params=["qwen3", "qwen3_left_padded", "cross_encoder", "cross_encoder_mlx",
                        "xlm_roberta", "xlm_roberta_mlx"])
def pair(request):
    return request.getfixturevalue(request.param)


def assert_parity(served_scores, reference_scores):
    assert len(served_scores) == len(reference_scores)
    worst = max(abs(a - b) for a, b in zip(served_scores, reference_scores, strict=True))
    assert worst <= TOLERANCE, (worst, served_scores, reference_scores)
    # Near-ties in the reference (closer than the tolerance) may go either way.
    assert_same_ranking(served_scores, reference_scores, TOLERANCE)
    # Random weights must still make scores depend on the text, or nothing is being tested.
    assert max(reference_scores) - min(reference_scores) > 0.05, reference_scores


@pytest.mark.parametrize("instruction", [None, "Judge whether the passage names a city"])
def test_scores_match_the_reference_recipe(pair, instruction):
    served, reference = pair
    result = served.rerank(DOCUMENTS, instruction)
    assert_parity(result.scores, reference.score(QUERY, DOCUMENTS, instruction))
    # One reference batch per document too: padding never changes a score.
    assert_parity(result.scores, reference.score(QUERY, DOCUMENTS, instruction, batch_size=1))
    # The 400-word document (at least) is cut to the model's maximum, and counted.
    assert result.truncated_documents >= 1


def test_prompt_tokens_count_the_tokens_fed(qwen3):
    served, reference = qwen3
    from tools.rerank_reference import format_instruction

    result = served.rerank(DOCUMENTS)
    inputs = reference.process_inputs([format_instruction(None, QUERY, d) for d in DOCUMENTS])
    assert result.prompt_tokens == int(inputs["attention_mask"].sum())
    truncated = sum(
        len(
            reference.tokenizer(format_instruction(None, QUERY, d), add_special_tokens=False)[
                "input_ids"
            ]
        )
        > reference.max_length - len(reference.prefix_tokens) - len(reference.suffix_tokens)
        for d in DOCUMENTS
    )
    assert result.truncated_documents == truncated


def cut_like_the_tokenizer(reference, documents, max_tokens):
    """Each document's text up to the end of its ``max_tokens``-th token (HF offsets)."""
    cut = []
    for doc in documents:
        encoded = reference.tokenizer(doc, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
        cut.append(doc if len(offsets) <= max_tokens else doc[: offsets[max_tokens - 1][1]])
    return cut


def test_max_tokens_per_doc_cuts_documents(pair):
    served, reference = pair
    result = served.rerank(DOCUMENTS, max_tokens_per_doc=5)
    cut = cut_like_the_tokenizer(reference, DOCUMENTS, 5)
    assert_parity(result.scores, reference.score(QUERY, cut))
    changed = sum(a != b for a, b in zip(cut, DOCUMENTS, strict=True))
    assert changed >= 4
    assert result.truncated_documents == changed


def test_a_score_is_the_same_alone_and_among_100_documents(pair):
    served, _ = pair
    many = [document(seed, 1 + (seed * 37) % 90) for seed in range(100)]
    many[42] = "paris is the capital of france"
    among = served.rerank(many).scores
    alone = served.rerank([many[42]]).scores[0]
    assert abs(among[42] - alone) <= 1e-5
    # And a second document, long, at another position.
    assert abs(served.rerank([many[7]]).scores[0] - among[7]) <= 1e-5
