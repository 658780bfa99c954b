"""The family registry and each family's Hugging Face layout handling (no reference models).

Parity against transformers lives in tests/integration/test_family_parity.py and
test_rerank_parity.py; here: what is supported, how checkpoint names map, and that the real
Qwen3 0.6B/4B/8B configurations build the published shapes.
"""

from __future__ import annotations

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import mlx.core as mx  # noqa: E402
import pytest  # noqa: E402
from mlx.utils import tree_flatten  # noqa: E402

from mlx_serve.adapters.mlx.models import registry  # noqa: E402
from mlx_serve.adapters.mlx.models.loading import split_weights  # noqa: E402
from mlx_serve.domain.errors import UnsupportedModel  # noqa: E402

TINY_ENCODER = dict(vocab_size=40, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=16, max_position_embeddings=24, type_vocab_size=2)
# The layer shapes of the published configs (Qwen/Qwen3-Embedding-*, -Reranker-*); the vocab
# size only sizes the embedding table.
QWEN3 = {
    "0.6B": dict(hidden_size=1024, num_hidden_layers=28, num_attention_heads=16,
                 num_key_value_heads=8, head_dim=128, intermediate_size=3072,
                 vocab_size=151669, tie_word_embeddings=True),
    "4B": dict(hidden_size=2560, num_hidden_layers=36, num_attention_heads=32,
               num_key_value_heads=8, head_dim=128, intermediate_size=9728,
               vocab_size=151665, tie_word_embeddings=True),
    "8B": dict(hidden_size=4096, num_hidden_layers=36, num_attention_heads=32,
               num_key_value_heads=8, head_dim=128, intermediate_size=12288,
               vocab_size=151665, tie_word_embeddings=False),
}
# Non-embedding parameters, in billions, as the model cards count them.
QWEN3_NON_EMBEDDING = {"0.6B": 0.44, "4B": 3.6, "8B": 6.95}


def test_an_unsupported_architecture_is_refused_naming_it_and_what_is_supported():
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}
    with pytest.raises(UnsupportedModel) as error:
        registry.for_config(config)
    message = str(error.value)
    assert "gpt2" in message and "GPT2LMHeadModel" in message
    for model_type in ("bert", "gemma3_text", "modernbert", "mpnet", "nomic_bert", "qwen3",
                       "xlm-roberta"):
        assert model_type in message


@pytest.mark.parametrize(("model_type", "family"), [
    ("bert", "bert"), ("xlm-roberta", "xlm_roberta"), ("roberta", "xlm_roberta"),
    ("mpnet", "mpnet"), ("qwen3", "qwen3"), ("BERT", "bert"), ("modernbert", "modernbert"),
    ("nomic_bert", "nomic_bert"), ("gemma3_text", "gemma3_text"),
])
def test_model_types_map_to_families(model_type, family):
    assert registry.for_config({"model_type": model_type}).name == family


def test_every_family_module_has_the_agreed_interface():
    for family in registry.FAMILIES:
        module = family.module()
        assert callable(module.sanitize) and isinstance(module.Model, type), family.name
        assert family.padding in ("left", "right")
        assert registry.by_name(family.name) is family


def _own_names(family: registry.Family, config: dict) -> set[str]:
    return {name for name, _ in tree_flatten(family.build(config).parameters())}


def _checkpoint(names: set[str], prefix: str) -> dict[str, mx.array]:
    return {f"{prefix}{name}": mx.zeros((1,)) for name in names}


@pytest.mark.parametrize(("family_name", "model_type", "prefix"), [
    ("bert", "bert", "bert."), ("bert", "bert", ""),
    ("xlm_roberta", "xlm-roberta", "roberta."), ("xlm_roberta", "xlm-roberta", ""),
    ("mpnet", "mpnet", "mpnet."), ("mpnet", "mpnet", ""),
])
def test_encoder_layouts_with_and_without_prefix(family_name, model_type, prefix):
    family = registry.by_name(family_name)
    config = {**TINY_ENCODER, "model_type": model_type}
    names = _own_names(family, config)
    weights = _checkpoint(names, prefix)
    weights["classifier.weight"] = mx.zeros((1, 8))
    weights[f"{prefix}embeddings.position_ids"] = mx.zeros((1, 24))
    weights["cls.predictions.bias"] = mx.zeros((40,))  # an MLM head: dropped
    own, heads = split_weights(family, config, weights, family.build(config))
    assert set(own) == names
    assert set(heads) == {"classifier.weight"}


def test_legacy_layernorm_names_and_a_missing_pooler_are_accepted():
    family = registry.by_name("bert")
    config = {**TINY_ENCODER, "model_type": "bert"}
    names = {n for n in _own_names(family, config) if not n.startswith("pooler.")}
    weights = {}
    for name in names:
        legacy = name.replace("LayerNorm.weight", "LayerNorm.gamma")
        weights["bert." + legacy.replace("LayerNorm.bias", "LayerNorm.beta")] = mx.zeros((1,))
    own, _ = split_weights(family, config, weights, family.build(config))
    assert set(own) == names


def test_missing_weights_are_named():
    family = registry.by_name("bert")
    config = {**TINY_ENCODER, "model_type": "bert"}
    with pytest.raises(ValueError, match="embeddings"):
        split_weights(family, config, {}, family.build(config))


@pytest.mark.parametrize("size", sorted(QWEN3))
def test_qwen3_configs_build_the_published_shapes(size):
    family = registry.by_name("qwen3")
    config = {**QWEN3[size], "model_type": "qwen3", "rms_norm_eps": 1e-6,
              "rope_theta": 1_000_000}
    params = dict(tree_flatten(family.build(config).parameters()))  # lazy: nothing allocated
    embedding = params.pop("embed_tokens.weight")
    assert embedding.shape == (config["vocab_size"], config["hidden_size"])
    assert params["layers.0.self_attn.k_proj.weight"].shape == (8 * 128, config["hidden_size"])
    assert params["layers.0.self_attn.q_norm.weight"].shape == (128,)
    non_embedding = sum(p.size for p in params.values()) / 1e9
    assert non_embedding == pytest.approx(QWEN3_NON_EMBEDDING[size], rel=0.02)


@pytest.mark.parametrize("prefix", ["", "model."])
def test_qwen3_embedding_and_causal_lm_layouts(prefix):
    family = registry.by_name("qwen3")
    config = dict(model_type="qwen3", vocab_size=40, hidden_size=16, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=1, head_dim=8,
                  intermediate_size=32)
    names = _own_names(family, config)
    weights = _checkpoint(names, prefix)
    if prefix:
        weights["lm_head.weight"] = mx.zeros((40, 16))  # Qwen3ForCausalLM: the reranker head
    own, heads = split_weights(family, config, weights, family.build(config))
    assert set(own) == names
    assert set(heads) == ({"lm_head.weight"} if prefix else set())


def test_rope_base_is_read_from_either_place():
    from mlx_serve.adapters.mlx.models.qwen3 import rope_theta

    assert rope_theta({"rope_theta": 20_000.0}) == 20_000.0
    assert rope_theta({"rope_parameters": {"rope_theta": 5e5, "rope_type": "default"}}) == 5e5


def test_config_key_quirks_width_and_position_limit():
    nomic = registry.by_name("nomic_bert")
    config = {"model_type": "nomic_bert", "n_embd": 768, "n_positions": 8192}
    assert (nomic.hidden_size(config), nomic.max_positions(config)) == (768, 8192)
    roberta = registry.by_name("xlm_roberta")
    config = {"hidden_size": 1024, "max_position_embeddings": 8194}
    assert (roberta.hidden_size(config), roberta.max_positions(config)) == (1024, 8192)


def test_gemma3_never_computes_in_float16():
    from mlx_serve.adapters.mlx.runtime.placement import Runtime

    forced = Runtime(dtype="float16", device="cpu")
    assert forced.compute_dtype("gemma3_text") == mx.bfloat16
    assert forced.compute_dtype("modernbert") == mx.float16
    assert Runtime(dtype="auto", device="cpu").compute_dtype("gemma3_text") == mx.float32


def test_modernbert_classifier_checkpoint_sets_its_heads_aside():
    """ModernBertForSequenceClassification: backbone under ``model.``, head under ``head.`` and
    ``classifier.`` (both kept beside the Model, never loaded into it)."""
    family = registry.for_config({"model_type": "modernbert"})
    config = dict(vocab_size=40, hidden_size=8, intermediate_size=16, num_hidden_layers=2,
                  num_attention_heads=2)
    backbone = family.build(config)
    weights = {f"model.{k}": v for k, v in tree_flatten(backbone.parameters())}
    weights.update({"head.dense.weight": mx.zeros((8, 8)), "head.norm.weight": mx.ones((8,)),
                    "classifier.weight": mx.zeros((1, 8)), "classifier.bias": mx.zeros((1,))})
    own, heads = split_weights(family, config, weights, backbone)
    assert set(heads) == {"head.dense.weight", "head.norm.weight", "classifier.weight",
                          "classifier.bias"}
    assert set(own) == {k for k, _ in tree_flatten(backbone.parameters())}
