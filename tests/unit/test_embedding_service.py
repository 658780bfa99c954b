"""EmbeddingService on fake engines, a fake catalog and a fake cache: assert on their state."""

from __future__ import annotations

import asyncio

import pytest

from mlx_serve.application.embedding_service import EmbeddingService
from mlx_serve.domain.errors import (
    InputTooLong,
    InvalidModelName,
    InvalidRequest,
    MlxServeError,
    ModelNotFound,
    WrongModelType,
)
from tests.fakes.engines import FakeEmbeddingEngine, fake_token_ids, make_info
from tests.support.fakes import FakeCache, FakeCatalog


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def engine() -> FakeEmbeddingEngine:
    return FakeEmbeddingEngine()


@pytest.fixture
def cache(engine) -> FakeCache:
    return FakeCache(engine)


@pytest.fixture
def service(cache) -> EmbeddingService:
    catalog = FakeCatalog(
        [make_info("mini", dimensions=8, max_length=6), make_info("rr", "reranker")],
        aliases={"small": "mini"},
    )
    return EmbeddingService(catalog, cache, max_inputs=4)


def test_string_input_is_one_vector_and_loads_the_model_once(service, engine, cache):
    info, result = run(service.embed("mini", "hello world"))
    assert info.name == "mini"
    assert len(result.vectors) == 1 and len(result.vectors[0]) == 8
    assert result.prompt_tokens == len(fake_token_ids("hello world"))
    run(service.embed("MINI", ["a", "b"]))
    assert engine.load_counts["mini"] == 1
    assert [name for name, _ in cache.uses] == ["mini", "mini"]


def test_alias_and_repo_id_resolve_to_the_same_model(service, engine):
    run(service.embed("small", "x"))
    run(service.embed("test/mini", "x"))
    assert engine.load_counts == {"mini": 1}


def test_token_id_inputs(service):
    _, one = run(service.embed("mini", [5, 6, 7]))
    assert len(one.vectors) == 1 and one.prompt_tokens == 3
    _, two = run(service.embed("mini", [[5, 6], [7]]))
    assert len(two.vectors) == 2 and two.prompt_tokens == 3


def test_dimensions_are_passed_and_bounded(service):
    _, result = run(service.embed("mini", "x", dimensions=3))
    assert len(result.vectors[0]) == 3
    for bad in (0, -1, 9, True, "4"):
        with pytest.raises(InvalidRequest) as err:
            run(service.embed("mini", "x", dimensions=bad))
        assert err.value.param == "dimensions"


@pytest.mark.parametrize(
    ("inputs", "param"),
    [
        ([], "input"),
        (["a", 3], "input[1]"),
        ([[1, 2], "a"], "input[1]"),
        ([[1], []], "input[1]"),
        ([[1, -2]], "input[0]"),
        ([[1, 2**40]], "input[0]"),
        ([1, True], "input[1]"),
        (["a"] * 5, "input"),
        (None, "input"),
        ({"text": "a"}, "input"),
        ([1.5], "input[0]"),
        ([None], "input[0]"),
    ],
)
def test_bad_inputs_name_the_field_and_never_reach_the_engine(service, engine, inputs, param):
    with pytest.raises(InvalidRequest) as err:
        run(service.embed("mini", inputs))
    assert err.value.param == param
    assert engine.load_counts == {}


def test_unknown_model_and_unsafe_names(service, engine):
    with pytest.raises(ModelNotFound):
        run(service.embed("nope", "x"))
    for bad in ("../etc", "a/b/c", "", ".hidden", 42):
        with pytest.raises(InvalidModelName):
            run(service.embed(bad, "x"))
    assert engine.load_counts == {}


def test_reranker_cannot_embed(service, engine):
    with pytest.raises(WrongModelType) as err:
        run(service.embed("rr", "x"))
    assert err.value.param == "model"
    assert engine.load_counts == {}


def test_truncation_is_counted_or_refused(service):
    long_text = "w " * 20
    _, result = run(service.embed("mini", ["short", long_text]))
    assert result.truncated_inputs == 1
    with pytest.raises(InputTooLong) as err:
        run(service.embed("mini", ["short", long_text], truncate=False))
    assert err.value.param == "input[1]"


def test_instruction_reaches_the_engine(service):
    _, plain = run(service.embed("mini", "q"))
    _, instructed = run(service.embed("mini", "q", instruction="Find docs"))
    assert plain.vectors != instructed.vectors


def test_engine_returning_too_few_vectors_is_a_server_error(service, cache):
    run(service.embed("mini", "warm"))
    model = cache.models["mini"]
    original = model.embed

    async def short(request):
        result = await original(request)
        return type(result)(vectors=result.vectors[:-1], prompt_tokens=result.prompt_tokens)

    model.embed = short
    with pytest.raises(MlxServeError) as err:
        run(service.embed("mini", ["a", "b"]))
    assert not isinstance(err.value, InvalidRequest)


def test_tokenize(service):
    info, result = run(service.tokenize("mini", ["hello world", "x"]))
    assert info.name == "mini"
    assert list(result.token_ids) == [fake_token_ids("hello world"), fake_token_ids("x")]
    with pytest.raises(InvalidRequest) as err:
        run(service.tokenize("mini", [1, 2]))
    assert err.value.param == "input[0]"
    with pytest.raises(WrongModelType):
        run(service.tokenize("rr", "x"))


def test_huge_text_is_cut_before_the_engine_and_still_counted_as_truncated(service, cache):
    from mlx_serve.application.embedding_inputs import CHARS_PER_TOKEN_BOUND

    run(service.embed("mini", "warm"))
    model = cache.models["mini"]
    seen = []
    original = model.embed

    async def recording(request):
        seen.append(request)
        return await original(request)

    model.embed = recording
    huge = "word " * 100_000
    _, result = run(service.embed("mini", ["short", huge]))
    limit = 6 * CHARS_PER_TOKEN_BOUND  # max_length of "mini" is 6
    sent = seen[-1].inputs
    assert sent[0] == "short"
    assert len(sent[1]) <= limit and huge.startswith(sent[1])
    assert result.truncated_inputs == 1 and len(result.vectors) == 2
    with pytest.raises(InputTooLong) as err:
        run(service.embed("mini", ["short", huge], truncate=False))
    assert err.value.param == "input[1]"
    with pytest.raises(InvalidRequest) as err:
        run(service.embed("mini", "x", instruction=huge))
    assert err.value.param == "instruction"
