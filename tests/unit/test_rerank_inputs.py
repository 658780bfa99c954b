"""Reranker inputs: the Qwen3 template, truncation and document cuts, on tiny tokenizers."""

from __future__ import annotations

import pytest

from mlx_serve.adapters.mlx.pipeline.tokenization import load_tokenizer
from mlx_serve.adapters.mlx.rerank.inputs import (
    QWEN3_PREFIX,
    QWEN3_SUFFIX,
    CrossEncoderPairEncoder,
    Qwen3PairEncoder,
    cut_documents,
    qwen3_pair_text,
)
from mlx_serve.domain.errors import InvalidRequest
from tools import tiny_checkpoints


@pytest.fixture(scope="module")
def qwen_tokenizer_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("qwen-tokenizer")
    tiny_checkpoints.save_qwen_tokenizer(directory, append_eos=False)
    return directory


@pytest.fixture(scope="module")
def bert_tokenizer_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bert-tokenizer")
    tiny_checkpoints.save_bert_tokenizer(directory)
    return directory


def plain(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False).ids


def test_qwen3_ids_are_prefix_pair_suffix(qwen_tokenizer_dir):
    tokenizer = load_tokenizer(qwen_tokenizer_dir)
    encoder = Qwen3PairEncoder(tokenizer, max_length=4096)
    (pair,) = encoder.encode("what is paris", ["paris is in france"])
    expected = (
        plain(tokenizer, QWEN3_PREFIX)
        + plain(tokenizer, qwen3_pair_text(None, "what is paris", "paris is in france"))
        + plain(tokenizer, QWEN3_SUFFIX)
    )
    assert pair.ids == expected and not pair.truncated and pair.type_ids is None
    assert "Given a web search query" in qwen3_pair_text(None, "q", "d")
    assert qwen3_pair_text("mine", "q", "d") == "<Instruct>: mine\n<Query>: q\n<Document>: d"
    assert tokenizer.id_to_token(encoder.yes_id) == "yes"
    assert tokenizer.id_to_token(encoder.no_id) == "no"


def test_qwen3_pairs_are_cut_to_the_budget_keeping_the_suffix(qwen_tokenizer_dir):
    tokenizer = load_tokenizer(qwen_tokenizer_dir)
    head = len(plain(tokenizer, QWEN3_PREFIX + QWEN3_SUFFIX))
    query_part = len(plain(tokenizer, qwen3_pair_text(None, "q", "")))
    encoder = Qwen3PairEncoder(tokenizer, max_length=head + query_part + 10)
    short, long = encoder.encode("q", ["a", "paris " * 100])
    assert not short.truncated and long.truncated
    assert len(long.ids) == encoder.max_length
    assert long.ids[-len(encoder.suffix_ids) :] == encoder.suffix_ids


def test_qwen3_query_that_leaves_no_room_is_rejected(qwen_tokenizer_dir):
    encoder = Qwen3PairEncoder(load_tokenizer(qwen_tokenizer_dir), max_length=400)
    with pytest.raises(InvalidRequest) as caught:
        encoder.encode("paris " * 200, ["doc"])
    assert caught.value.param == "query"


def test_documents_are_cut_after_their_nth_token(qwen_tokenizer_dir):
    tokenizer = load_tokenizer(qwen_tokenizer_dir)
    texts, cut = cut_documents(tokenizer, ["the city of paris", "ab"], 3)
    assert cut == [True, False]
    assert texts[1] == "ab"
    assert plain(tokenizer, texts[0]) == plain(tokenizer, "the city of paris")[:3]
    assert cut_documents(tokenizer, ["x y"], None) == (["x y"], [False])


def test_cross_encoder_pairs_have_token_types_and_longest_first_truncation(bert_tokenizer_dir):
    tokenizer = load_tokenizer(bert_tokenizer_dir)
    encoder = CrossEncoderPairEncoder(tokenizer, max_length=16, use_token_types=True)
    short, long = encoder.encode("what is paris", ["paris", "the city " * 20])
    assert tokenizer.id_to_token(short.ids[0]) == "[CLS]"
    assert short.type_ids == [0] * 5 + [1] * 2  # [CLS] what is paris [SEP] | paris [SEP]
    assert not short.truncated
    assert long.truncated and len(long.ids) == 16
    # Longest first: the short query survives whole.
    assert long.ids[:5] == short.ids[:5]
    no_types = CrossEncoderPairEncoder(load_tokenizer(bert_tokenizer_dir), 16, False)
    assert no_types.encode("q", ["d"])[0].type_ids is None
