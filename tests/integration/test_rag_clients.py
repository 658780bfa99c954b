"""RAG clients, unchanged, against the real server (all-MiniLM-L6-v2) over a real socket.

Each client's vectors must equal ``/v1/embeddings``' for the same texts (cosine >= 0.9999):
the openai SDK (sync, async; float and base64), LangChain's OpenAIEmbeddings **with its
defaults** (tiktoken cl100k_base token ids, offline from the rank file mlx-serve ships),
langchain-ollama, LlamaIndex (through an OpenAI model-name alias), Haystack (a batch with an
empty document), chromadb's embedding function and litellm's openai/, hosted_vllm/,
infinity/ and ollama/ providers.
"""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from tests.conftest import MINILM, OPENAI_ALIAS
from tests.support.tiktoken_offline import fill_tiktoken_cache

pytestmark = pytest.mark.slow

TEXTS = [
    "Hello world",
    "The capital of France is Paris.",
    "Ünïcödé text: 日本語のテキスト and emoji 🙂👍🏽",
    "code: def f(x):\n\treturn x ** 2  # squares\n",
    "A longer passage about retrieval augmented generation, chunking documents into "
    "passages, embedding them, and storing the vectors in a database for search. " * 3,
]
MIN_COSINE = 0.9999


@pytest.fixture(scope="module", autouse=True)
def offline_clients(tmp_path_factory):
    """tiktoken reads the shipped cl100k_base file; litellm uses its bundled price map;
    Haystack sends no telemetry."""
    cache = fill_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        patch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        patch.setenv("HAYSTACK_TELEMETRY_ENABLED", "False")
        yield


@pytest.fixture(scope="module")
def http(minilm_url):
    with httpx.Client(base_url=minilm_url, timeout=120) as client:
        yield client


def served(http, texts, model=MINILM) -> np.ndarray:
    """The vectors ``/v1/embeddings`` gives for ``texts``: the yardstick."""
    response = http.post("/v1/embeddings", json={"model": model, "input": list(texts)})
    assert response.status_code == 200, response.text
    return np.asarray([item["embedding"] for item in response.json()["data"]])


@pytest.fixture(scope="module")
def expected(http) -> np.ndarray:
    return served(http, TEXTS)


def assert_same_vectors(vectors, reference) -> None:
    a = np.asarray(vectors, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    assert a.shape == b.shape
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    assert cos.min() >= MIN_COSINE, cos


# --- openai -----------------------------------------------------------------------------------


def test_openai_sync_base64_and_float(minilm_url, expected):
    from openai import OpenAI

    client = OpenAI(base_url=f"{minilm_url}/v1", api_key="unused", max_retries=0)
    default = client.embeddings.create(model=MINILM, input=TEXTS)  # base64 on the wire
    assert_same_vectors([d.embedding for d in default.data], expected)
    floats = client.embeddings.create(model=MINILM, input=TEXTS, encoding_format="float")
    assert_same_vectors([d.embedding for d in floats.data], expected)
    assert floats.usage.prompt_tokens > len(TEXTS)


def test_openai_async(minilm_url, expected):
    from openai import AsyncOpenAI

    async def embed():
        async with AsyncOpenAI(base_url=f"{minilm_url}/v1", api_key="unused") as client:
            results = await asyncio.gather(
                *(client.embeddings.create(model=MINILM, input=text) for text in TEXTS)
            )
        return [r.data[0].embedding for r in results]

    assert_same_vectors(asyncio.run(embed()), expected)


def test_openai_with_cl100k_token_ids_as_the_openai_api_reads_them(minilm_url, expected):
    import tiktoken
    from openai import OpenAI

    ids = [tiktoken.get_encoding("cl100k_base").encode(text) for text in TEXTS]
    client = OpenAI(base_url=f"{minilm_url}/v1", api_key="unused", max_retries=0)
    result = client.embeddings.create(model=MINILM, input=ids)
    assert_same_vectors([d.embedding for d in result.data], expected)


# --- LangChain --------------------------------------------------------------------------------


def test_langchain_openai_with_its_defaults(minilm_url, http, expected):
    from langchain_openai import OpenAIEmbeddings

    # Defaults: check_embedding_ctx_length=True, so LangChain sends cl100k_base token ids.
    embeddings = OpenAIEmbeddings(model=MINILM, base_url=f"{minilm_url}/v1", api_key="unused")
    assert embeddings.check_embedding_ctx_length
    assert_same_vectors(embeddings.embed_documents(TEXTS), expected)
    assert_same_vectors([embeddings.embed_query(TEXTS[0])], expected[:1])
    # An empty chunk, as text splitters produce.
    assert_same_vectors(embeddings.embed_documents(["", "ok"]), served(http, ["", "ok"]))


def test_langchain_ollama(minilm_url, expected):
    from langchain_ollama import OllamaEmbeddings

    embeddings = OllamaEmbeddings(model=MINILM, base_url=minilm_url)
    assert_same_vectors(embeddings.embed_documents(TEXTS), expected)
    assert_same_vectors([embeddings.embed_query(TEXTS[1])], expected[1:2])


# --- LlamaIndex, Haystack, Chroma -------------------------------------------------------------


def test_llamaindex_openai_embedding_through_an_alias(minilm_url, expected):
    from llama_index.embeddings.openai import OpenAIEmbedding

    # OpenAIEmbedding accepts OpenAI's model names only: the server aliases one to MiniLM.
    embedding = OpenAIEmbedding(
        model_name=OPENAI_ALIAS, api_base=f"{minilm_url}/v1", api_key="unused", max_retries=0
    )
    assert_same_vectors(embedding.get_text_embedding_batch(TEXTS), expected)
    assert_same_vectors([embedding.get_query_embedding(TEXTS[2])], expected[2:3])


def test_haystack_batch_with_an_empty_document(minilm_url, http, expected):
    from haystack import Document
    from haystack.components.embedders import OpenAIDocumentEmbedder, OpenAITextEmbedder
    from haystack.utils import Secret

    key = Secret.from_token("unused")
    documents = [Document(content=text) for text in TEXTS] + [Document(content="")]
    embedder = OpenAIDocumentEmbedder(api_key=key, model=MINILM, api_base_url=f"{minilm_url}/v1")
    embedded = embedder.run(documents=documents)["documents"]
    assert all(d.embedding is not None for d in embedded)
    assert_same_vectors([d.embedding for d in embedded], served(http, [*TEXTS, ""]))
    text = OpenAITextEmbedder(api_key=key, model=MINILM, api_base_url=f"{minilm_url}/v1")
    assert_same_vectors([text.run(text=TEXTS[3])["embedding"]], expected[3:4])


def test_chromadb_openai_embedding_function(minilm_url, expected):
    from chromadb.utils.embedding_functions import OpenAIEmbeddingFunction

    function = OpenAIEmbeddingFunction(
        api_key="unused", api_base=f"{minilm_url}/v1", model_name=MINILM
    )
    assert_same_vectors(function(TEXTS), expected)


# --- litellm ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "path"),
    [("openai", "/v1"), ("hosted_vllm", "/v1"), ("infinity", ""), ("ollama", "")],
)
def test_litellm_providers(minilm_url, expected, provider, path):
    import litellm

    response = litellm.embedding(
        model=f"{provider}/{MINILM}",
        input=TEXTS,
        api_base=f"{minilm_url}{path}",
        api_key="unused",
    )
    vectors = [item["embedding"] for item in response.data]
    assert_same_vectors(vectors, expected)
