"""EmbeddingService: vLLM's ``truncate_prompt_tokens`` (keep each input's last N tokens)."""

from __future__ import annotations

import asyncio

import pytest

from mlx_serve.application.embedding_service import EmbeddingService
from mlx_serve.domain.errors import InvalidRequest
from tests.fakes.engines import FakeEmbeddingEngine, make_info
from tests.support.fakes import FakeCache, FakeCatalog

TEXT = "one two three four five six"  # 8 fake tokens with [CLS] and [SEP]


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def engine():
    return FakeEmbeddingEngine()


@pytest.fixture
def service(engine):
    catalog = FakeCatalog([make_info("mini", dimensions=8, max_length=16)])
    return EmbeddingService(catalog, FakeCache(engine), max_inputs=8)


def test_inputs_keep_their_last_tokens(service):
    _, cut = run(service.embed("mini", [TEXT, "short"], truncate_prompt_tokens=4))
    assert cut.prompt_tokens == 4 + 3 and cut.truncated_inputs == 1
    _, plain = run(service.embed("mini", [TEXT]))
    assert plain.prompt_tokens == 8 and plain.truncated_inputs == 0


@pytest.mark.parametrize("value", [-1, 16, 10**6, None])
def test_minus_one_and_the_models_maximum_change_nothing(service, value):
    _, result = run(service.embed("mini", TEXT, truncate_prompt_tokens=value))
    assert result.prompt_tokens == 8 and result.truncated_inputs == 0


@pytest.mark.parametrize("value", [0, -2, True, "4", 2.5])
def test_bad_values_name_the_field(service, engine, value):
    with pytest.raises(InvalidRequest) as err:
        run(service.embed("mini", TEXT, truncate_prompt_tokens=value))
    assert err.value.param == "truncate_prompt_tokens"
    assert engine.load_counts == {}
