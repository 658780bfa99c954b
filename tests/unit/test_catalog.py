"""ModelCatalog on fake store, repository and converter: lookups, pulls, removal."""

from __future__ import annotations

import pytest

from mlx_serve.application.catalog import ModelCatalog
from mlx_serve.domain.errors import (
    InvalidModelName,
    InvalidRequest,
    ModelAlreadyExists,
    ModelNotFound,
    PullError,
    UnsupportedModel,
)
from mlx_serve.domain.models import ModelType
from tests.fakes.converter import FakeConverter
from tests.fakes.repository import FakeModelRepository
from tests.fakes.store import FAKE_SIZE_BYTES, FakeModelStore, make_info

BAD_REFERENCES = ["../x", "/etc/passwd", "a/b/c", "bad\x00name", "tab\tname", ".hidden", ""]


def catalog(store=None, sources=("org/Model-A",), converter=None, aliases=None, **repo_kw):
    store = store if store is not None else FakeModelStore()
    repository = FakeModelRepository(list(sources), **repo_kw)
    return (
        ModelCatalog(store, [repository], converter or FakeConverter(), aliases, now=lambda: 42.0),
        store,
        repository,
    )


# --- resolve ---------------------------------------------------------------------------------


def test_resolve_by_name_repo_id_and_alias_case_insensitively():
    store = FakeModelStore(
        [
            make_info("Qwen3-Embedding-0.6B", source="Qwen/Qwen3-Embedding-0.6B"),
            make_info("minilm", source="/abs/dir/all-MiniLM-L6-v2"),
        ]
    )
    cat, _, _ = catalog(store)
    for ref in [
        "Qwen3-Embedding-0.6B",
        "qwen3-embedding-0.6b",
        "Qwen/Qwen3-Embedding-0.6B",
        "qwen/qwen3-embedding-0.6b",
        "qwen3-embedding",  # built-in alias -> repo id -> source
        "QWEN3-EMBEDDING",
    ]:
        assert cat.resolve(ref).name == "Qwen3-Embedding-0.6B", ref
    assert cat.resolve("MINILM").name == "minilm"


def test_alias_resolves_through_the_basename_for_models_pulled_from_a_directory():
    store = FakeModelStore([make_info("all-MiniLM-L6-v2", source="/somewhere/all-MiniLM-L6-v2")])
    cat, _, _ = catalog(store)
    assert cat.resolve("all-minilm").name == "all-MiniLM-L6-v2"


def test_ollamas_names_of_the_new_families_resolve_to_their_checkpoints():
    store = FakeModelStore([
        make_info("nomic-embed-text-v1.5", source="nomic-ai/nomic-embed-text-v1.5"),
        make_info("embeddinggemma-300m", source="google/embeddinggemma-300m"),
    ])
    cat, _, _ = catalog(store)
    assert cat.resolve("nomic-embed-text").name == "nomic-embed-text-v1.5"
    assert cat.resolve("EmbeddingGemma").name == "embeddinggemma-300m"


def test_user_aliases_override_builtin_ones():
    store = FakeModelStore([make_info("mine"), make_info("Qwen3-Embedding-0.6B")])
    cat, _, _ = catalog(store, aliases={"Qwen3-Embedding": "org/mine", "fast": "mine"})
    assert cat.resolve("qwen3-embedding").name == "mine"
    assert cat.resolve("FAST").name == "mine"


def test_an_alias_binding_a_prompt_resolves_to_its_model():
    store = FakeModelStore([make_info("embeddinggemma-300m", source="google/embeddinggemma-300m")])
    cat, _, _ = catalog(store, aliases={
        "gemma-query": {"model": "embeddinggemma-300m", "prompt_name": "query"},
        "gemma-doc": {"model": "google/embeddinggemma-300m", "prompt_name": "document"}})
    assert cat.resolve("GEMMA-QUERY").name == "embeddinggemma-300m"
    assert cat.resolve("gemma-doc").name == "embeddinggemma-300m"


def test_exact_name_wins_over_case_insensitive_match():
    store = FakeModelStore([make_info("model"), make_info("Model")])
    cat, _, _ = catalog(store)
    assert cat.resolve("Model").name == "Model"
    assert cat.resolve("model").name == "model"


@pytest.mark.parametrize("ref", BAD_REFERENCES)
def test_bad_references_are_rejected(ref):
    cat, _, _ = catalog(FakeModelStore([make_info("x")]))
    with pytest.raises(InvalidModelName):
        cat.resolve(ref)
    with pytest.raises(InvalidModelName):
        cat.remove(ref)


def test_unknown_model_is_not_found():
    cat, _, _ = catalog()
    with pytest.raises(ModelNotFound):
        cat.resolve("nope")
    with pytest.raises(ModelNotFound):
        cat.show("org/nope")


def test_remove_deletes_the_resolved_model():
    store = FakeModelStore([make_info("A", source="org/A"), make_info("B")])
    cat, _, _ = catalog(store)
    assert cat.remove("org/a").name == "A"
    assert store.removed == ["A"]
    assert [m.name for m in cat.list()] == ["B"]


# --- pull ------------------------------------------------------------------------------------


def test_pull_converts_and_commits_with_recorded_metadata():
    converter = FakeConverter()
    cat, store, repository = catalog(converter=converter)
    events = []
    info = cat.pull(
        "org/Model-A", dtype="float16", quantize=8, revision="v1", progress=events.append
    )
    assert info.name == "Model-A"
    assert (info.source, info.revision) == ("org/Model-A", "v1")
    assert (info.type, info.dtype, info.quantization) == (ModelType.EMBEDDING, "float16", "q8")
    assert info.size_bytes == FAKE_SIZE_BYTES and info.created == 42.0
    assert store.models["Model-A"] == info and not store.staging and not store.discarded
    assert repository.fetched == [("org/Model-A", "v1")]
    (_, _, options) = converter.calls[0]
    assert (options.dtype, options.quantize_bits, options.quantize_group_size) == (
        "float16",
        8,
        64,
    )
    statuses = [e.status for e in events]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    assert statuses.index("converting") < statuses.index("writing manifest")


def test_pull_with_name_type_and_keep_original():
    converter = FakeConverter()
    cat, store, _ = catalog(converter=converter)
    info = cat.pull("org/Model-A", name="mine", model_type="reranker", keep_original=True)
    assert info.name == "mine" and info.type is ModelType.RERANKER
    assert converter.calls[0][2].model_type is ModelType.RERANKER
    assert list(store.originals.values()) == [converter.calls[0][0].directory]


def test_pull_expands_aliases():
    cat, store, repository = catalog(sources=["Qwen/Qwen3-Embedding-0.6B"])
    info = cat.pull("Qwen3-Embedding")
    assert repository.fetched[0][0] == "Qwen/Qwen3-Embedding-0.6B"
    assert info.name == "Qwen3-Embedding-0.6B"


def test_pull_of_installed_model_needs_force_and_fails_before_fetching():
    store = FakeModelStore([make_info("model-a", source="old")])
    cat, _, repository = catalog(store)
    with pytest.raises(ModelAlreadyExists):
        cat.pull("org/Model-A")  # same name in another case
    with pytest.raises(ModelAlreadyExists):
        cat.pull("org/Model-A", name="MODEL-A")
    assert repository.fetched == []  # neither pull downloaded anything
    info = cat.pull("org/Model-A", force=True)
    assert sorted(store.models) == ["Model-A"] and info.source == "org/Model-A"


def test_failed_conversion_discards_staging_and_installs_nothing():
    cat, store, _ = catalog(converter=FakeConverter(error=UnsupportedModel("no")))
    with pytest.raises(UnsupportedModel):
        cat.pull("org/Model-A")
    assert not store.models and not store.staging and len(store.discarded) == 1


def test_incomplete_converter_metadata_is_an_error_not_a_broken_install():
    cat, store, _ = catalog(converter=FakeConverter({"type": "embedding"}))
    with pytest.raises(UnsupportedModel, match="architecture"):
        cat.pull("org/Model-A")
    assert not store.models and len(store.discarded) == 1


def test_fetch_failure_stages_nothing():
    error = PullError("gated")
    cat, store, _ = catalog(failures={"org/Model-A": error})
    with pytest.raises(PullError):
        cat.pull("org/Model-A")
    assert not store.staging and not store.discarded and not store.models


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [({"dtype": "int3"}, "dtype"), ({"quantize": 3}, "quantize"), ({"model_type": "x"}, "type")],
)
def test_bad_pull_options_are_rejected_before_fetching(kwargs, param):
    cat, _, repository = catalog()
    with pytest.raises(InvalidRequest) as raised:
        cat.pull("org/Model-A", **kwargs)
    assert raised.value.param == param and not repository.fetched


@pytest.mark.parametrize("name", ["../x", "a/b", ".x", "x\x01"])
def test_bad_names_for_pull_are_rejected(name):
    cat, store, _ = catalog()
    with pytest.raises(InvalidModelName):
        cat.pull("org/Model-A", name=name)
    assert not store.models


def test_unhandled_sources():
    cat, _, _ = catalog()
    with pytest.raises(InvalidModelName):
        cat.pull("/etc/passwd")
    with pytest.raises(InvalidModelName):
        cat.pull("org/x\x00")
    with pytest.raises(InvalidModelName, match="it is not one of the fake"):
        cat.pull("org/unknown")


def test_a_source_basename_that_is_no_valid_name_asks_for_a_name():
    cat, store, _ = catalog(sources=["/data/.cache"])
    with pytest.raises(InvalidModelName, match="give a name"):
        cat.pull("/data/.cache")
    assert cat.pull("/data/.cache", name="ok").name == "ok"


# --- messages a new user reads -----------------------------------------------------------------


def test_a_name_no_repository_takes_is_named_as_the_problem():
    cat, _, repository = catalog()
    with pytest.raises(InvalidModelName) as caught:
        cat.pull("bad name/with space")
    assert caught.value.message == (
        "cannot pull 'bad name/with space': it is not one of the fake repository's sources"
    )
    assert repository.fetched == []
    with pytest.raises(PullError, match="no model source is configured"):
        ModelCatalog(FakeModelStore(), [], FakeConverter()).pull("org/x")


def test_a_re_pull_names_the_force_flag():
    cat, _, _ = catalog()
    cat.pull("org/Model-A")
    with pytest.raises(ModelAlreadyExists) as caught:
        cat.pull("org/Model-A")
    assert "--force" in caught.value.message and '"force": true' in caught.value.message
