"""The per-request token bound: an upper bound of the real count, refused with its name."""

from __future__ import annotations

import asyncio

import pytest

from mlx_serve.application.embedding_service import EmbeddingService
from mlx_serve.application.request_cost import (
    SPECIAL_TOKENS,
    embedding_cost,
    rerank_cost,
    text_tokens_bound,
)
from mlx_serve.application.rerank_service import RerankService
from mlx_serve.domain.errors import RequestTooCostly
from tests.fakes.engines import FakeEmbeddingEngine, make_info
from tests.support.fakes import FakeCache, FakeCatalog

INFO = make_info("mini", dimensions=8, max_length=16)


def test_a_text_counts_its_bytes_or_the_maximum():
    assert text_tokens_bound("abc", 16) == 3 + SPECIAL_TOKENS
    assert text_tokens_bound("é", 16) == 2 + SPECIAL_TOKENS  # UTF-8 bytes, not characters
    assert text_tokens_bound("x" * 10, 16) == 16
    assert text_tokens_bound("x" * 100, 16) == 16


def test_a_bpe_tokenizer_never_makes_more_tokens_than_the_bound():
    from tokenizers import ByteLevelBPETokenizer

    tokenizer = ByteLevelBPETokenizer()
    texts = ["hello world", "日本語のテキスト", "🎵🎵🎵", "a" * 50, "mixed é ü ß 🙂 text"]
    for text in texts:
        real = len(tokenizer.encode(text).ids)
        assert real <= text_tokens_bound(text, 10_000)


def test_embedding_cost_adds_inputs_each_cut_to_the_maximum():
    assert embedding_cost(["abc", [1] * 40, [1, 2]], INFO) == (3 + SPECIAL_TOKENS) + 16 + 2
    assert embedding_cost(["abc"], INFO, instruction="xy") == 3 + SPECIAL_TOKENS + 2


def test_rerank_cost_counts_query_and_document_per_pair():
    assert rerank_cost("q", ["d", "d"], INFO) == 2 * 16  # 1 + 8 + 1 + 8 > 16
    big = make_info("big", "reranker", max_length=100)
    assert rerank_cost("q", ["dd"], big) == (1 + SPECIAL_TOKENS) + SPECIAL_TOKENS + (2 + 8)
    assert rerank_cost("q", ["x" * 500], big, max_tokens_per_doc=4) == 1 + 2 * SPECIAL_TOKENS + 4


def test_services_refuse_past_the_bound_before_loading_the_model():
    engine = FakeEmbeddingEngine()
    cache = FakeCache(engine)
    catalog = FakeCatalog([INFO, make_info("rr", "reranker", max_length=16)])
    embedding = EmbeddingService(catalog, cache, max_inputs=100, max_request_tokens=64)
    asyncio.run(embedding.embed("mini", [[1] * 16] * 4))  # exactly 64: served
    with pytest.raises(RequestTooCostly) as err:
        asyncio.run(embedding.embed("mini", [[1] * 16] * 5))
    assert "64" in err.value.message and err.value.param == "input"
    rerank = RerankService(catalog, cache, max_documents=100, max_request_tokens=64)
    with pytest.raises(RequestTooCostly) as err:
        asyncio.run(rerank.rerank("rr", "query", ["document"] * 5))
    assert err.value.param == "documents"
    assert [name for name, _ in cache.uses] == ["mini"]  # the refused ones never loaded
