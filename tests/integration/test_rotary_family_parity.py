"""Our MLX ModernBERT, NomicBERT and Gemma3 text (EmbeddingGemma) against their references.

Module level (no registry, no server): tiny random-weight checkpoints built at test time
(tools/tiny_families.py) carrying the real checkpoints' sentence-transformers files, run
through our Model + the sentence-transformers pipeline module, and compared on PyTorch CPU
float32 with
- transformers' ModernBertModel / Gemma3TextModel (hidden states), ModernBertFor-
  SequenceClassification (logits, |delta| <= 1e-4);
- ``SentenceTransformer.encode(prompt_name=...)`` (cosine >= 0.9999 per text, texts longer
  than max_seq_length included);
- NomicBERT, which transformers lacks: tools/nomic_bert_reference.py (our PyTorch
  reference written from nomic-ai's published architecture) inside a SentenceTransformer
  built from its modules.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import mlx.core as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlx_serve.adapters.mlx.convert.checkpoint import read_config  # noqa: E402
from mlx_serve.adapters.mlx.pipeline.st_pipeline import apply_prompt, read_pipeline  # noqa: E402
from mlx_serve.adapters.mlx.pipeline.tokenization import TextTokenizer  # noqa: E402
from mlx_serve.adapters.mlx.runtime.batching import pad_rows  # noqa: E402
from tools import tiny_families  # noqa: E402
from tools.nomic_bert_reference import sentence_transformer  # noqa: E402

pytestmark = pytest.mark.slow
FAMILIES = {  # family module, builder
    "modernbert": ("modernbert", tiny_families.build_gte_modernbert),
    "embeddinggemma": ("gemma3_text", tiny_families.build_embeddinggemma),
    "nomic": ("nomic_bert", tiny_families.build_nomic_embed),
}
TEXTS = [
    "a",
    "what is the capital of france?",
    "paris is the capital of france, berlin is the capital of germany. " * 4,  # truncated
    "machine learning is fast",
    "the good model server",
    "water fire water fire apple banana yes no",
]
PROMPTS = {"modernbert": [None], "embeddinggemma": [None, "query", "document", "STS"],
           "nomic": [None, "query", "document"]}


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def load_model(module_name: str, directory: Path):
    """Our Model with the checkpoint's weights (sanitize + strict load), and its heads."""
    module = importlib.import_module(f"mlx_serve.adapters.mlx.models.{module_name}")
    config = read_config(directory)
    weights: dict[str, mx.array] = {}
    for file in sorted(directory.glob("*.safetensors")):
        weights.update(mx.load(str(file)))
    weights = module.sanitize(weights, config)
    heads = {k: v for k, v in weights.items() if k.startswith(("head.", "classifier."))}
    model = module.Model(config)
    model.load_weights([(k, v) for k, v in weights.items() if k not in heads], strict=True)
    model.eval()
    return model, config, heads


class OurPipeline:
    """What serving does: prompt, tokenize (truncating), right-pad, Model, ST modules."""

    def __init__(self, module_name: str, directory: Path) -> None:
        self.model, self.config, _ = load_model(module_name, directory)
        self.pipeline = read_pipeline(directory)
        self.tokenizer = TextTokenizer(directory, self.pipeline.max_seq_length)

    def encode(self, texts: list[str], prompt_name: str | None = None) -> np.ndarray:
        prompt = self.pipeline.prompts[prompt_name] if prompt_name else None
        rows = [e.ids for e in self.tokenizer.encode(apply_prompt(texts, prompt))]
        ids, mask = pad_rows(rows, max(map(len, rows)), self.tokenizer.pad_id, left=False)
        mask_array = mx.array(mask, dtype=mx.int32)
        states = self.model(mx.array(ids, dtype=mx.int32), mask_array)
        return np.array(self.pipeline.vectors(states, mask_array))


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request, tmp_path_factory):
    """(name, checkpoint directory, our pipeline, the sentence-transformers reference)."""
    from sentence_transformers import SentenceTransformer

    name = request.param
    module_name, builder = FAMILIES[name]
    directory = builder(tmp_path_factory.mktemp(name))
    if name == "nomic":
        reference = sentence_transformer(directory)
    else:
        reference = SentenceTransformer(str(directory), device="cpu",
                                        model_kwargs={"attn_implementation": "eager"})
    return name, directory, OurPipeline(module_name, directory), reference


def test_hidden_states_match_the_reference(family):
    import torch
    from transformers import AutoModel

    name, directory, ours, reference = family
    texts = TEXTS[1:4]
    encoded = ours.tokenizer.encode(texts)
    rows = [e.ids for e in encoded]
    ids, mask = pad_rows(rows, max(map(len, rows)), ours.tokenizer.pad_id, left=False)
    got = np.array(ours.model(mx.array(ids, dtype=mx.int32), mx.array(mask, dtype=mx.int32)))
    if name == "nomic":
        backbone = reference[0].auto_model
        with torch.no_grad():
            want = backbone(torch.tensor(ids), torch.tensor(mask)).numpy()
    else:
        backbone = AutoModel.from_pretrained(directory, attn_implementation="eager").eval()
        with torch.no_grad():
            want = backbone(input_ids=torch.tensor(ids),
                            attention_mask=torch.tensor(mask)).last_hidden_state.numpy()
    real = np.asarray(mask, dtype=bool)
    assert np.abs(got - want)[real].max() <= 1e-4


def test_embeddings_match_sentence_transformers_with_prompts(family):
    name, _directory, ours, reference = family
    for prompt_name in PROMPTS[name]:
        want = reference.encode(TEXTS, prompt_name=prompt_name, convert_to_numpy=True,
                                batch_size=len(TEXTS))
        got = ours.encode(TEXTS, prompt_name)
        assert got.shape == want.shape
        assert cosines(got, want).min() >= 0.9999, (name, prompt_name)
        if ours.pipeline.normalized:
            assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "family", [name for name, prompts in sorted(PROMPTS.items()) if prompts != [None]],
    indirect=True,
)
def test_prompts_change_the_vectors(family):
    """The prompt test above can fail: a query prompt moves the vector well away."""
    _name, _directory, ours, _reference = family
    plain, query = ours.encode(TEXTS[1:2]), ours.encode(TEXTS[1:2], "query")
    assert cosines(plain, query).max() < 0.999


def test_long_texts_are_cut_at_max_seq_length(family):
    _name, _directory, ours, _reference = family
    encoded = ours.tokenizer.encode([TEXTS[2]])[0]
    assert encoded.truncated and len(encoded.ids) == tiny_families.MAX_SEQ_LENGTH


def test_batch_invariance(family):
    _name, _directory, ours, _reference = family
    together = ours.encode(TEXTS)
    alone = np.concatenate([ours.encode([text]) for text in TEXTS])
    assert cosines(together, alone).min() >= 0.99999


def test_embeddinggemma_dense_layers_set_the_width(tmp_path):
    directory = tiny_families.build_embeddinggemma(tmp_path / "gemma")
    pipeline = read_pipeline(directory)
    kinds = [type(step).__name__ if step != "normalize" else step for step in pipeline.steps]
    assert pipeline.pooling == "mean" and kinds == ["Dense", "Dense", "normalize"]
    assert pipeline.dimensions(tiny_families.HIDDEN) == tiny_families.HIDDEN
    assert [s.out_features for s in pipeline.steps[:2]] == [4 * tiny_families.HIDDEN,
                                                            tiny_families.HIDDEN]


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_modernbert_classifier_matches_transformers(tmp_path, pooling):
    import torch
    from transformers import AutoModelForSequenceClassification

    from mlx_serve.adapters.mlx.models.modernbert import classifier_logits

    directory = tiny_families.build_modernbert_reranker(tmp_path / pooling, pooling)
    model, config, heads = load_model("modernbert", directory)
    assert set(heads) >= {"head.dense.weight", "head.norm.weight", "classifier.weight",
                          "classifier.bias"}
    tokenizer = TextTokenizer(directory, 512).tokenizer
    pairs = [("what is the capital of france?", "paris is the capital of france. " * 3),
             ("what is the capital of france?", "bananas are yellow"),
             ("how fast is the server", "a")]
    rows = [e.ids for e in tokenizer.encode_batch(pairs)]
    ids, mask = pad_rows(rows, max(map(len, rows)), 0, left=False)
    mask_array = mx.array(mask, dtype=mx.int32)
    states = model(mx.array(ids, dtype=mx.int32), mask_array)
    got = np.array(classifier_logits(heads, states, mask_array, config))
    reference = AutoModelForSequenceClassification.from_pretrained(
        directory, attn_implementation="eager").eval()
    with torch.no_grad():
        want = reference(input_ids=torch.tensor(ids),
                         attention_mask=torch.tensor(mask)).logits.numpy()
    assert got.shape == want.shape == (3, 1)
    assert np.abs(got - want).max() <= 1e-4
    assert np.std(want) > 0.05  # scores really depend on the pair


def test_vectorised_cpu_gelu_keeps_modernbert_parity(tmp_path):
    import mlx.nn as nn
    from sentence_transformers import SentenceTransformer

    from mlx_serve.adapters.mlx.models.rotary_attention import replace_activation
    from mlx_serve.adapters.mlx.runtime.fast_ops import fast_gelu

    directory = tiny_families.build_gte_modernbert(tmp_path / "modernbert")
    ours = OurPipeline("modernbert", directory)
    assert replace_activation(ours.model, nn.gelu, fast_gelu) == 4  # one per layer
    reference = SentenceTransformer(str(directory), device="cpu",
                                    model_kwargs={"attn_implementation": "eager"})
    want = reference.encode(TEXTS, batch_size=len(TEXTS))
    assert cosines(ours.encode(TEXTS), want).min() >= 0.9999
