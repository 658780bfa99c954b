"""EmbeddingService: what token ids mean (cl100k_base decoded to text, or the model's own), and
empty strings. Fake engine, catalog and cache; a fake decoder stands in for cl100k_base."""

from __future__ import annotations

import asyncio

import pytest

from mlx_serve.application.embedding_service import EmbeddingService
from mlx_serve.domain.errors import InvalidRequest
from tests.fakes.engines import FakeEmbeddingEngine, fake_token_ids, fake_vector, make_info
from tests.support.fakes import FakeCache, FakeCatalog

WORDS = {1: "hello", 2: " world", 3: ""}


class WordDecoder:
    """A three-token vocabulary; unknown ids raise LookupError with ``token``, as the port says."""

    name = "cl100k_base"

    def decode(self, ids):
        for token in ids:
            if token not in WORDS:
                error = LookupError(token)
                error.token = token
                raise error
        return "".join(WORDS[t] for t in ids)


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def engine():
    return FakeEmbeddingEngine()


def service(engine, **kwargs) -> EmbeddingService:
    catalog = FakeCatalog([make_info("mini", dimensions=8, max_length=16)])
    return EmbeddingService(catalog, FakeCache(engine), max_inputs=8, **kwargs)


def test_cl100k_ids_are_embedded_as_their_text(engine):
    openai = service(engine, token_decoder=WordDecoder(), token_id_vocabulary="cl100k_base")
    _, result = run(openai.embed("mini", [[1, 2], [1]]))
    assert [list(v) for v in result.vectors] == [
        pytest.approx(fake_vector("hello world", 8)),
        pytest.approx(fake_vector("hello", 8)),
    ]
    # usage counts the model's tokens of the text, not the client's ids.
    assert result.prompt_tokens == len(fake_token_ids("hello world")) + len(fake_token_ids("hello"))
    _, single = run(openai.embed("mini", [1, 2]))
    assert list(single.vectors[0]) == pytest.approx(fake_vector("hello world", 8))


def test_a_request_may_ask_for_the_models_own_ids(engine):
    openai = service(engine, token_decoder=WordDecoder(), token_id_vocabulary="cl100k_base")
    _, own = run(openai.embed("mini", [[101, 7, 102]], token_id_vocabulary="model"))
    _, decoded = run(openai.embed("mini", [[1]]))
    assert own.prompt_tokens == 3
    assert list(own.vectors[0]) != list(decoded.vectors[0])


def test_the_server_default_may_be_the_models_own_ids(engine):
    own = service(engine, token_decoder=WordDecoder(), token_id_vocabulary="model")
    _, result = run(own.embed("mini", [[101, 7, 102]]))
    assert result.prompt_tokens == 3
    _, decoded = run(own.embed("mini", [[1, 2]], token_id_vocabulary="cl100k_base"))
    assert list(decoded.vectors[0]) == pytest.approx(fake_vector("hello world", 8))


@pytest.mark.parametrize(
    ("inputs", "vocabulary", "param"),
    [
        ([[1], [1, 99]], None, "input[1]"),
        ([1, 99], None, "input[0]"),
        ([[1], "text"], None, "input[1]"),
        ([[1, -1]], None, "input[0]"),
        ([[1]], "o200k_base", "token_id_vocabulary"),
        ([[1]], 5, "token_id_vocabulary"),
    ],
)
def test_bad_token_ids_name_the_input(engine, inputs, vocabulary, param):
    openai = service(engine, token_decoder=WordDecoder(), token_id_vocabulary="cl100k_base")
    with pytest.raises(InvalidRequest) as err:
        run(openai.embed("mini", inputs, token_id_vocabulary=vocabulary))
    assert err.value.param == param
    assert engine.load_counts == {}


def test_unknown_id_message_names_the_id(engine):
    openai = service(engine, token_decoder=WordDecoder(), token_id_vocabulary="cl100k_base")
    with pytest.raises(InvalidRequest, match="token id 99"):
        run(openai.embed("mini", [[99]]))


def test_cl100k_without_a_decoder_is_refused(engine):
    bare = service(engine)
    with pytest.raises(InvalidRequest) as err:
        run(bare.embed("mini", [[1]], token_id_vocabulary="cl100k_base"))
    assert err.value.param == "token_id_vocabulary"


def test_empty_strings_are_embedded(engine):
    _, result = run(service(engine).embed("mini", ["ok", ""]))
    assert len(result.vectors) == 2
    assert list(result.vectors[1]) == pytest.approx(fake_vector("", 8))
    _, alone = run(service(engine).embed("mini", ""))
    assert len(alone.vectors) == 1
    with pytest.raises(InvalidRequest):
        run(service(engine).embed("mini", []))
