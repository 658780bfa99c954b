"""RerankService on fakes: validation, model-type check, ranking helper."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from mlx_serve.application.rerank_service import RerankService, rank
from mlx_serve.domain.errors import InvalidRequest, MlxServeError, ModelNotFound, WrongModelType
from mlx_serve.domain.inference import RerankRequest, RerankResult
from mlx_serve.domain.models import ModelInfo, ModelType


def _info(name: str, model_type: ModelType) -> ModelInfo:
    return ModelInfo(
        name=name,
        type=model_type,
        source=f"org/{name}",
        architecture="Qwen3ForCausalLM",
        dimensions=None,
        max_length=128,
        dtype="float32",
        size_bytes=1,
        created=0.0,
        path=Path("/nowhere"),
    )


class FakeReranker:
    """Scores a document by its length, so tests can predict the order."""

    def __init__(self, info: ModelInfo, scores: list[float] | None = None) -> None:
        self.info = info
        self.requests: list[RerankRequest] = []
        self._scores = scores

    async def rerank(self, request: RerankRequest) -> RerankResult:
        self.requests.append(request)
        scores = self._scores or [1.0 / (1 + len(doc)) for doc in request.documents]
        return RerankResult(scores=scores, prompt_tokens=7, truncated_documents=1)

    @property
    def memory_bytes(self) -> int:
        return 1


class FakeCatalog:
    def __init__(self, *infos: ModelInfo) -> None:
        self._infos = {info.name.lower(): info for info in infos}

    def resolve(self, ref: str) -> ModelInfo:
        try:
            return self._infos[ref.lower()]
        except KeyError:
            raise ModelNotFound(ref) from None


class FakeCache:
    def __init__(self, model: FakeReranker) -> None:
        self.model = model
        self.keep_alive: list[float | None] = []

    @contextlib.asynccontextmanager
    async def use(self, info: ModelInfo, *, keep_alive: float | None = None):
        self.keep_alive.append(keep_alive)
        yield self.model


RERANKER = _info("tiny-reranker", ModelType.RERANKER)
EMBEDDER = _info("tiny-embedder", ModelType.EMBEDDING)


def _service(scores: list[float] | None = None, max_documents: int = 5):
    model = FakeReranker(RERANKER, scores)
    return RerankService(FakeCatalog(RERANKER, EMBEDDER), FakeCache(model), max_documents), model


def run(coro):
    return asyncio.run(coro)


def test_rerank_passes_request_and_returns_scores_in_request_order():
    service, model = _service()
    info, result = run(
        service.rerank("TINY-reranker", "q", ["aaa", "a"], instruction="find", max_tokens_per_doc=3)
    )
    assert info is RERANKER
    assert result.scores == [0.25, 0.5]
    assert result.prompt_tokens == 7 and result.truncated_documents == 1
    (request,) = model.requests
    assert request == RerankRequest("q", ["aaa", "a"], "find", 3)


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
    service, model = _service()
    with pytest.raises(InvalidRequest) as caught:
        run(service.rerank("tiny-reranker", query, documents, **kwargs))
    assert caught.value.param == param
    assert not model.requests


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
