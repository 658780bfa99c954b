"""RerankService on fakes: validation, model-type check, ranking helper."""

from __future__ import annotations

import asyncio

import pytest

from mlx_serve.application.embedding_inputs import CHARS_PER_TOKEN_BOUND
from mlx_serve.application.rerank_service import RerankService, rank
from mlx_serve.domain.errors import InvalidRequest, MlxServeError, ModelNotFound, WrongModelType
from mlx_serve.domain.inference import RerankRequest, RerankResult
from mlx_serve.domain.models import ModelInfo
from tests.fakes.engines import (
    FakeEmbeddingEngine,
    FakeLoadedReranker,
    FakeReranker,
    make_info,
)
from tests.support.fakes import FakeCache, FakeCatalog


class RecordingReranker(FakeReranker):
    """Records the requests its models get; answers fixed scores when given some."""

    def __init__(self, scores: list[float] | None = None) -> None:
        super().__init__()
        self.scores = scores
        self.requests: list[RerankRequest] = []

    async def load(self, model: ModelInfo) -> FakeLoadedReranker:
        loaded = await super().load(model)
        answer = loaded.rerank

        async def rerank(request: RerankRequest) -> RerankResult:
            self.requests.append(request)
            if self.scores is None:
                return await answer(request)
            return RerankResult(scores=self.scores, prompt_tokens=1)

        loaded.rerank = rerank  # type: ignore[method-assign]
        return loaded


RERANKER = make_info("tiny-reranker", "reranker")
EMBEDDER = make_info("tiny-embedder", "embedding")


def _service(scores: list[float] | None = None, max_documents: int = 5):
    cache = FakeCache(FakeEmbeddingEngine(), RecordingReranker(scores))
    service = RerankService(FakeCatalog([RERANKER, EMBEDDER]), cache, max_documents)
    return service, cache


def run(coro):
    return asyncio.run(coro)


def test_rerank_resolves_loads_and_returns_scores_in_request_order():
    service, cache = _service()
    documents = ["paris is nice", "berlin", "paris in france today"]
    info, result = run(
        service.rerank("TINY-reranker", "paris france", documents, max_tokens_per_doc=3)
    )
    assert info is RERANKER
    # The fake scores the share of query words in the (cut) document.
    assert result.scores == [0.5, 0.0, 1.0]
    assert result.prompt_tokens == 22 and result.truncated_documents == 1
    assert cache.uses == [("tiny-reranker", None)]


@pytest.mark.parametrize(
    ("query", "documents", "kwargs", "param"),
    [
        ("", ["a"], {}, "query"),
        ("   ", ["a"], {}, "query"),
        (None, ["a"], {}, "query"),
        ("q", [], {}, "documents"),
        ("q", "a string", {}, "documents"),
        ("q", ["a"] * 6, {}, "documents"),
        ("q", ["a", {"text": "b"}], {}, "documents[1]"),
        ("q", ["a"], {"top_n": 0}, "top_n"),
        ("q", ["a"], {"top_n": -3}, "top_n"),
        ("q", ["a"], {"top_n": True}, "top_n"),
        ("q", ["a"], {"max_tokens_per_doc": 0}, "max_tokens_per_doc"),
        ("q", ["a"], {"instruction": 5}, "instruction"),
    ],
)
def test_invalid_requests_name_the_field(query, documents, kwargs, param):
    service, cache = _service()
    with pytest.raises(InvalidRequest) as caught:
        run(service.rerank("tiny-reranker", query, documents, **kwargs))
    assert caught.value.param == param
    assert not cache.uses


def test_an_embedding_model_cannot_rerank_and_the_message_names_its_type():
    service, _ = _service()
    with pytest.raises(WrongModelType) as caught:
        run(service.rerank("tiny-embedder", "q", ["a"]))
    assert "embedding" in caught.value.message and caught.value.param == "model"


def test_unknown_model_is_not_found():
    service, _ = _service()
    with pytest.raises(ModelNotFound):
        run(service.rerank("nope", "q", ["a"]))


def test_non_finite_or_missing_scores_are_errors_not_results():
    service, _ = _service(scores=[float("nan")])
    with pytest.raises(MlxServeError, match="non-finite"):
        run(service.rerank("tiny-reranker", "q", ["a"]))
    service, _ = _service(scores=[0.5])
    with pytest.raises(MlxServeError, match="2 documents"):
        run(service.rerank("tiny-reranker", "q", ["a", "b"]))


def test_rank_sorts_by_score_then_index_and_cuts_to_top_n():
    scores = [0.2, 0.9, 0.2, 0.5]
    assert rank(scores) == [1, 3, 0, 2]
    assert rank(scores, 2) == [1, 3]
    assert rank(scores, 10) == [1, 3, 0, 2]


def test_texts_far_beyond_the_model_maximum_are_cut_before_the_engine():
    service, cache = _service()
    huge = "paris " * 200_000  # 1.2 MB; the fake model reads 512 tokens at most
    run(service.rerank("tiny-reranker", huge, [huge, "paris"]))
    (request,) = cache.reranker.requests
    limit = RERANKER.max_length * CHARS_PER_TOKEN_BOUND
    assert len(request.query) == len(request.documents[0]) == limit
    assert request.documents[1] == "paris"
