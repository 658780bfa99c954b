"""Prompts on embedding requests: prompt_name, input_type, alias-bound and default prompts,
checked by EmbeddingService against the loaded model's own prompts (fake engines)."""

from __future__ import annotations

import asyncio

import pytest

from mlx_serve.application.aliases import merge_aliases, prompt_bindings
from mlx_serve.application.embedding_service import EmbeddingService
from mlx_serve.domain.errors import InvalidRequest
from mlx_serve.domain.prompts import ModelPrompts
from tests.fakes.engines import FakeEmbeddingEngine, fake_vector, make_info
from tests.support.fakes import FakeCache, FakeCatalog

GEMMA = ModelPrompts({"query": "task: search result | query: ",
                      "document": "title: none | text: ", "STS": "task: sentence similarity | "
                      "query: "})
NOMIC = ModelPrompts({"search_query": "search_query: ", "search_document": "search_document: "})
DEFAULTED = ModelPrompts({"query": "q: ", "passage": "p: "}, default_name="passage")
QWEN = ModelPrompts({"query": "Instruct: task\nQuery:", "document": ""})


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def service() -> EmbeddingService:
    names = ["gemma", "nomic", "defaulted", "qwen", "plain"]
    engine = FakeEmbeddingEngine(prompts={"gemma": GEMMA, "nomic": NOMIC,
                                          "defaulted": DEFAULTED, "qwen": QWEN})
    catalog = FakeCatalog([make_info(n, dimensions=8, max_length=64) for n in names],
                          aliases={"gemma-query": "gemma"})
    aliases = {"gemma-query": {"model": "gemma", "prompt_name": "query"}}
    return EmbeddingService(catalog, FakeCache(engine), max_inputs=8, aliases=aliases)


def vector(service, model, text, **fields):
    _, result = run(service.embed(model, [text], **fields))
    return list(result.vectors[0])


def expected(text: str):
    """The fake engine's vector of ``text``, as fed to the model (prompt included)."""
    return pytest.approx(fake_vector(text, 8), abs=1e-12)


def test_prompt_name_prepends_the_models_prompt(service):
    assert vector(service, "gemma", "hi", prompt_name="STS") == \
        expected("task: sentence similarity | query: hi")


@pytest.mark.parametrize(("model", "input_type", "text"), [
    ("gemma", "query", "task: search result | query: hi"),
    ("gemma", "search_query", "task: search result | query: hi"),
    ("gemma", "document", "title: none | text: hi"),
    ("nomic", "query", "search_query: hi"),
    ("nomic", "search_document", "search_document: hi"),
    ("qwen", "query", "Instruct: task\nQuery:hi"),
    ("qwen", "document", "hi"),  # an empty prompt is no prompt
    ("plain", "document", "hi"),  # no document prompt: documents are embedded as they are
])
def test_input_type_maps_to_the_models_prompt(service, model, input_type, text):
    assert vector(service, model, "hi", input_type=input_type) == expected(text)


def test_alias_binds_a_prompt_and_explicit_fields_win(service):
    assert vector(service, "gemma-query", "hi") == expected("task: search result | query: hi")
    assert vector(service, "GEMMA-QUERY", "hi", input_type="document") == \
        expected("title: none | text: hi")
    assert vector(service, "gemma", "hi") == expected("hi")


def test_default_prompt_applies_unless_another_is_asked_for(service):
    assert vector(service, "defaulted", "hi") == expected("p: hi")
    assert vector(service, "defaulted", "hi", input_type="query") == expected("q: hi")
    assert vector(service, "defaulted", "hi", instruction="x") == expected("x\nhi")


@pytest.mark.parametrize(("model", "fields", "param", "words"), [
    ("gemma", {"prompt_name": "nope"}, "prompt_name", ["'nope'", "STS, document, query"]),
    ("plain", {"prompt_name": "query"}, "prompt_name", ["no prompts"]),
    ("plain", {"input_type": "query"}, "input_type", ["no query prompt", "no prompts"]),
    ("gemma", {"input_type": "classification"}, "input_type", ["input_type must be"]),
    ("gemma", {"input_type": 3}, "input_type", ["input_type must be"]),
    ("gemma", {"prompt_name": ""}, "prompt_name", ["non-empty"]),
    ("qwen", {"prompt_name": "query", "instruction": "task"}, "prompt_name", ["either"]),
    ("qwen", {"input_type": "query", "instruction": "task"}, "input_type", ["either"]),
])
def test_bad_prompts_are_400_naming_the_problem(service, model, fields, param, words):
    with pytest.raises(InvalidRequest) as caught:
        run(service.embed(model, ["hi"], **fields))
    assert caught.value.param == param
    for word in words:
        assert word in caught.value.message


def test_prompt_with_token_ids_is_refused_and_default_skipped(service):
    with pytest.raises(InvalidRequest, match="token-id") as caught:
        run(service.embed("gemma", [[1, 2, 3]], prompt_name="query"))
    assert caught.value.param == "prompt_name"
    _, result = run(service.embed("defaulted", [[1, 2, 3]]))
    assert list(result.vectors[0]) == expected("1 2 3")


def test_alias_entries_with_prompts():
    user = {"Gemma-Query": {"model": "google/embeddinggemma-300m", "prompt_name": "query"},
            "mini": "sentence-transformers/all-MiniLM-L6-v2"}
    merged = merge_aliases(user)
    assert merged["gemma-query"] == "google/embeddinggemma-300m"
    assert merged["mini"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert prompt_bindings(user) == {"gemma-query": "query"}
