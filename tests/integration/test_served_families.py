"""ModernBERT, NomicBERT and Gemma3 text (EmbeddingGemma) served through the registry.

Tiny random-weight checkpoints with the real checkpoints' sentence-transformers files
(tools/tiny_families.py) are imported by MlxConverter as a local Hugging Face directory
(what ``mlx-serve pull ./dir`` does) and served by MlxEmbeddingEngine / MlxReranker on the
CPU in float32, then compared with sentence-transformers (PyTorch CPU float32): cosine >=
0.9999 per text with each of the model's prompts applied as ``encode(prompt_name=...)``
applies it, and for the ModernBERT cross-encoder |score difference| <= 1e-4 with the same
ranking as ``CrossEncoder.predict``. NomicBERT's reference is our PyTorch NomicBERT
(transformers has no class for it) inside the checkpoint's own sentence-transformers modules.
"""

from __future__ import annotations

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import json  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlx_serve.adapters.mlx.convert.converter import MlxConverter  # noqa: E402
from mlx_serve.adapters.mlx.embedding.engine import MlxEmbeddingEngine  # noqa: E402
from mlx_serve.adapters.mlx.rerank.engine import MlxReranker  # noqa: E402
from mlx_serve.domain.errors import InvalidRequest, UnsupportedModel  # noqa: E402
from mlx_serve.domain.inference import EmbedRequest, RerankRequest  # noqa: E402
from mlx_serve.domain.models import ModelInfo, ModelType  # noqa: E402
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint  # noqa: E402
from tests.support.ranking import assert_same_ranking  # noqa: E402
from tools import tiny_families  # noqa: E402

pytestmark = pytest.mark.slow

EMBEDDERS = {  # served name: (family stored in the converted config, builder)
    "gte-modernbert": ("modernbert", tiny_families.build_gte_modernbert),
    "embeddinggemma": ("gemma3_text", tiny_families.build_embeddinggemma),
    "nomic-embed": ("nomic_bert", tiny_families.build_nomic_embed),
}
TEXTS = [
    "a",
    "what is the capital of france?",
    "paris is the capital of france, berlin is the capital of germany. " * 4,  # truncated
    "machine learning is fast",
    "the good model server",
    "water fire water fire apple banana yes no",
]
QUERY = "what is the capital of france?"
DOCUMENTS = [
    "paris is the capital of france",
    "",
    "bananas are yellow",
    "the capital of germany is berlin and the capital of france is paris " * 3,
    "yes",
    "how fast is the server",
    "water fire apple",
    "paris is the capital of france. " * 120,  # over the model's maximum: cut longest-first
]
TOLERANCE = 1e-4


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def pull(source, destination, name: str, **options) -> ModelInfo:
    """What ``mlx-serve pull <dir>`` does to a local checkpoint, without the store."""
    metadata = MlxConverter().convert(FetchedCheckpoint(source, str(source), None),
                                      destination, ConversionOptions(**options))
    return ModelInfo(name=name, source=str(source), size_bytes=0, created=0.0,
                     path=destination, **metadata)


@pytest.fixture(scope="module", params=sorted(EMBEDDERS))
def served(request, compute, tmp_path_factory):
    """(name, source checkpoint, installed info, loaded model, sentence-transformers)."""
    from sentence_transformers import SentenceTransformer

    from tools.nomic_bert_reference import sentence_transformer

    name = request.param
    family, build = EMBEDDERS[name]
    root = tmp_path_factory.mktemp(name)
    source = build(root / name)
    info = compute.call(pull, source, root / "converted", name)
    engine = MlxEmbeddingEngine(compute, max_batch_tokens=4096, dtype="float32", device="cpu")
    model = engine.load_blocking(info)
    assert model._session.family == family
    if family == "nomic_bert":
        reference = sentence_transformer(source)
    else:
        reference = SentenceTransformer(str(source), device="cpu",
                                        model_kwargs={"attn_implementation": "eager"})
    yield name, source, info, model, reference
    model.release()


def test_pull_records_what_the_checkpoint_declares(served):
    _name, source, info, _model, reference = served
    assert info.type is ModelType.EMBEDDING
    assert info.max_length == tiny_families.MAX_SEQ_LENGTH  # sentence_bert_config.json
    assert info.dimensions == reference.encode(["a"]).shape[1]
    # Every module folder with files (Pooling, EmbeddingGemma's two Dense layers) came along.
    declared = json.loads((source / "modules.json").read_text())
    for module in declared:
        for file in ("config.json", "model.safetensors"):
            if module["path"] and (source / module["path"] / file).is_file():
                assert (info.path / module["path"] / file).is_file(), module


def test_vectors_match_sentence_transformers_for_every_prompt(served):
    name, _source, _info, model, reference = served
    prompts = model.prompts.prompts
    # sentence-transformers 5+ adds empty "query"/"document" prompts to checkpoints without.
    assert prompts == {k: v for k, v in reference.prompts.items() if v}
    for prompt_name in [None, *sorted(prompts)]:
        prompt = prompts[prompt_name] if prompt_name else None
        got = model.embed_blocking(EmbedRequest(TEXTS, prompt=prompt))
        want = reference.encode(TEXTS, prompt_name=prompt_name, batch_size=len(TEXTS))
        assert got.vectors.shape == want.shape
        close = cosines(got.vectors, want)
        assert close.min() >= 0.9999, (name, prompt_name, close)
        assert got.truncated_inputs >= 1  # the long text was cut at max_seq_length
    # The tiny models are input-sensitive enough for the comparison to mean something.
    vectors = model.embed_blocking(EmbedRequest(TEXTS)).vectors
    assert cosines(vectors[:1], vectors[1:2])[0] < 0.95


# gte-modernbert declares no prompts (its checks above cover the plain vectors).
@pytest.mark.parametrize("served", ["embeddinggemma", "nomic-embed"], indirect=True)
def test_prompts_move_the_vectors(served):
    """The comparison above can fail: a query prompt moves a vector well away."""
    name, _source, _info, model, _reference = served
    assert "query" in model.prompts.prompts, name
    plain = model.embed_blocking(EmbedRequest(TEXTS[1:2])).vectors
    query = model.embed_blocking(
        EmbedRequest(TEXTS[1:2], prompt=model.prompts.prompts["query"])).vectors
    assert cosines(plain, query).max() < 0.999


def test_a_vector_does_not_depend_on_its_batch(served):
    _name, _source, _info, model, _reference = served
    together = model.embed_blocking(EmbedRequest(TEXTS)).vectors
    alone = np.stack([model.embed_blocking(EmbedRequest([t])).vectors[0] for t in TEXTS])
    assert cosines(together, alone).min() >= 0.99999


# Only ModernBERT has a vectorised CPU path (NomicBERT's SiLU and Gemma3's tanh GELU have none).
@pytest.mark.parametrize("served", ["gte-modernbert"], indirect=True)
def test_fast_cpu_ops_agree_with_the_exact_kernels(served):
    """ModernBERT's vectorised CPU GELU (decision 8), on by default in float32 on the CPU,
    against MLX's exact one."""
    _name, _source, _info, model, _reference = served
    backbone = model._session.module.backbone
    assert backbone.fast_cpu_ops  # the engine turned it on
    fast = model.embed_blocking(EmbedRequest(TEXTS)).vectors
    backbone.fast_cpu_ops = False
    try:
        exact = model.embed_blocking(EmbedRequest(TEXTS)).vectors
    finally:
        backbone.fast_cpu_ops = True
    assert cosines(fast, exact).min() >= 0.99999


def test_bfloat16_and_8_bit_conversions_stay_close(served, compute, tmp_path):
    """``--dtype bfloat16 --quantize 8`` of each layout: loads, is smaller, stays close."""
    name, source, _info, model, _reference = served
    quantized_info = compute.call(lambda: pull(source, tmp_path / "q8", f"{name}-q8",
                                               dtype="bfloat16", quantize_bits=8,
                                               quantize_group_size=32))
    assert (quantized_info.dtype, quantized_info.quantization) == ("bfloat16", "8bit-g32")
    engine = MlxEmbeddingEngine(compute, max_batch_tokens=4096, dtype="float32", device="cpu")
    quantized = engine.load_blocking(quantized_info)
    try:
        assert quantized.memory_bytes < model.memory_bytes
        close = cosines(quantized.embed_blocking(EmbedRequest(TEXTS)).vectors,
                        model.embed_blocking(EmbedRequest(TEXTS)).vectors)
    finally:
        quantized.release()
    # Rounding error only: the tiny checkpoints' large random weights (std 0.3 for NomicBERT)
    # are more sensitive to 8-bit rounding than trained ones (0.987 at worst); a wrong layout
    # of quantized weights would give unrelated vectors.
    assert close.min() >= 0.98, (name, close)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_modernbert_cross_encoder_scores_match(compute, tmp_path, pooling):
    """gte-reranker-modernbert's layout: sigmoid of ModernBertForSequenceClassification's
    logit, as CrossEncoder.predict computes it, for either classifier_pooling."""
    from sentence_transformers import CrossEncoder

    source = tiny_families.build_modernbert_reranker(tmp_path / "reranker", pooling)
    info = compute.call(pull, source, tmp_path / "converted", "modernbert-reranker")
    assert info.type is ModelType.RERANKER and info.dimensions is None
    model = MlxReranker(compute, 4096, "float32", "cpu").load_blocking(info)
    try:
        result = model.rerank_blocking(RerankRequest(QUERY, DOCUMENTS))
        served = result.scores
    finally:
        model.release()
    reference = CrossEncoder(str(source), device="cpu", max_length=info.max_length,
                             model_kwargs={"attn_implementation": "eager"})
    want = reference.predict([(QUERY, d) for d in DOCUMENTS], batch_size=len(DOCUMENTS))
    worst = max(abs(a - b) for a, b in zip(served, want, strict=True))
    assert worst <= TOLERANCE, (worst, served, want)
    assert_same_ranking(served, [float(w) for w in want], TOLERANCE)
    assert max(want) - min(want) > 0.05  # scores really depend on the document
    assert result.truncated_documents == 1


def test_gemma3_is_never_converted_to_float16(compute, tmp_path):
    source = tiny_families.build_embeddinggemma(tmp_path / "gemma")
    with pytest.raises(InvalidRequest, match="float16") as raised:
        compute.call(lambda: pull(source, tmp_path / "converted", "gemma", dtype="float16"))
    assert raised.value.param == "dtype"
    assert not (tmp_path / "converted").exists()  # nothing written


def test_unsupported_architecture_is_refused_naming_the_supported(compute, tmp_path):
    source = tiny_families.build_gte_modernbert(tmp_path / "other")
    config = json.loads((source / "config.json").read_text())
    config.update(model_type="deberta-v2", architectures=["DebertaV2Model"])
    (source / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedModel) as raised:
        compute.call(pull, source, tmp_path / "converted", "other")
    message = str(raised.value)
    assert "deberta-v2" in message and "DebertaV2Model" in message
    for supported in ("bert", "gemma3_text", "modernbert", "mpnet", "nomic_bert", "qwen3",
                      "xlm-roberta"):
        assert supported in message
    assert not (tmp_path / "converted").exists()


def test_a_rerankers_unknown_sentence_transformers_modules_do_not_block_its_pull(compute,
                                                                                 tmp_path):
    """Only an embedding model's pipeline is run; a cross-encoder's modules.json is not."""
    source = tiny_families.build_modernbert_reranker(tmp_path / "reranker")
    (source / "modules.json").write_text(json.dumps(
        [{"idx": 0, "name": "0", "path": "", "type": "some_library.CrossEncoderHead"}]))
    info = compute.call(pull, source, tmp_path / "converted", "reranker")
    assert info.type is ModelType.RERANKER
