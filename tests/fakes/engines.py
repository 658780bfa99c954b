"""Fake engines: the EmbeddingEngine and Reranker ports without MLX.

They count loads and unloads, can be slowed down or made to fail, and can hold a request
open (``gate``) so tests can observe in-flight behaviour. Vectors and scores are
deterministic functions of the text, so tests can compare them.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import Counter

from mlx_serve.domain.errors import InputTooLong, ModelLoadError
from mlx_serve.domain.inference import (
    EmbedRequest,
    EmbedResult,
    RerankRequest,
    RerankResult,
    TokenizeResult,
)
from mlx_serve.domain.models import ModelInfo
from mlx_serve.domain.prompts import ModelPrompts

DEFAULT_DIMENSIONS = 8


def fake_token_ids(text: str) -> list[int]:
    """[CLS] + one id per whitespace word + [SEP], ids stable across runs."""
    words = [int(hashlib.sha1(w.encode()).hexdigest()[:6], 16) % 30000 + 100 for w in text.split()]
    return [101, *words, 102]


def fake_vector(text: str, dimensions: int) -> list[float]:
    """A unit vector derived from the text's hash."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class _EngineBase:
    """Counters and knobs shared by both fakes."""

    def __init__(
        self,
        *,
        load_delay: float = 0.0,
        fail: set[str] | None = None,
        memory_bytes: int = 1_000_000,
    ) -> None:
        self.load_delay = load_delay
        self.fail = set(fail or ())  # model names whose load raises ModelLoadError
        self.memory_bytes = memory_bytes
        self.load_counts: Counter[str] = Counter()
        self.unload_counts: Counter[str] = Counter()
        self.events: list[tuple[str, str]] = []  # ("load" | "unload", name), in order
        self.resident: set[str] = set()
        self.loading_now = 0
        self.max_concurrent_loads = 0
        # When set, every request waits on it before answering (hold requests in flight).
        self.gate: asyncio.Event | None = None
        self.request_delay = 0.0

    async def _load(self, model: ModelInfo) -> None:
        self.load_counts[model.name] += 1
        self.loading_now += 1
        self.max_concurrent_loads = max(self.max_concurrent_loads, self.loading_now)
        try:
            if self.load_delay:
                await asyncio.sleep(self.load_delay)
            else:
                await asyncio.sleep(0)
            if model.name in self.fail:
                raise ModelLoadError(f"cannot load model '{model.name}': broken files (fake)")
        finally:
            self.loading_now -= 1
        self.events.append(("load", model.name))
        self.resident.add(model.name)

    async def _unload(self, name: str) -> None:
        await asyncio.sleep(0)
        self.unload_counts[name] += 1
        self.events.append(("unload", name))
        self.resident.discard(name)

    async def _in_request(self) -> None:
        if self.request_delay:
            await asyncio.sleep(self.request_delay)
        if self.gate is not None:
            await self.gate.wait()


class FakeEmbeddingModel:
    """LoadedEmbeddingModel port."""

    def __init__(self, info: ModelInfo, engine: FakeEmbeddingEngine) -> None:
        self.info = info
        self._engine = engine

    @property
    def memory_bytes(self) -> int:
        return self._engine.memory_bytes

    @property
    def prompts(self) -> ModelPrompts:
        return self._engine.prompts.get(self.info.name, ModelPrompts())

    async def embed(self, request: EmbedRequest) -> EmbedResult:
        await self._engine._in_request()
        native = self.info.dimensions or DEFAULT_DIMENSIONS
        dims = request.dimensions or native
        vectors, tokens, truncated = [], 0, 0
        for index, item in enumerate(request.inputs):
            ids = fake_token_ids(item) if isinstance(item, str) else list(item)
            if request.max_tokens is not None and len(ids) > request.max_tokens:
                ids = ids[-request.max_tokens :]  # the last tokens, as vLLM keeps them
                truncated += 1
            if len(ids) > self.info.max_length:
                if not request.truncate:
                    raise InputTooLong(
                        f"input {index} has {len(ids)} tokens, more than the model's "
                        f"maximum of {self.info.max_length}",
                        param=f"input[{index}]",
                    )
                ids = ids[: self.info.max_length]
                truncated += 1
            tokens += len(ids)
            text = item if isinstance(item, str) else " ".join(map(str, item))
            if request.instruction:
                text = f"{request.instruction}\n{text}"
            if request.prompt:
                text = f"{request.prompt}{text}"
            vec = fake_vector(text, native)[:dims]
            norm = math.sqrt(sum(x * x for x in vec)) or 1.0
            vectors.append([x / norm for x in vec])
        return EmbedResult(vectors=vectors, prompt_tokens=tokens, truncated_inputs=truncated)

    async def tokenize(self, texts: list[str]) -> TokenizeResult:
        return TokenizeResult(token_ids=[fake_token_ids(t) for t in texts])


class FakeEmbeddingEngine(_EngineBase):
    """EmbeddingEngine port; ``load_counts[name]`` says how often each model was loaded.

    ``prompts[name]``: the prompts the model of that name declares (none by default).
    """

    def __init__(self, *, prompts: dict[str, ModelPrompts] | None = None, **knobs) -> None:
        super().__init__(**knobs)
        self.prompts = dict(prompts or {})

    async def load(self, model: ModelInfo) -> FakeEmbeddingModel:
        await self._load(model)
        return FakeEmbeddingModel(model, self)

    async def unload(self, model: FakeEmbeddingModel) -> None:  # type: ignore[override]
        await self._unload(model.info.name)


class FakeLoadedReranker:
    """LoadedReranker port: score = share of query words found in the document."""

    def __init__(self, info: ModelInfo, engine: FakeReranker) -> None:
        self.info = info
        self._engine = engine

    @property
    def memory_bytes(self) -> int:
        return self._engine.memory_bytes

    async def rerank(self, request: RerankRequest) -> RerankResult:
        await self._engine._in_request()
        query = {w.lower() for w in request.query.split()}
        scores, tokens, truncated = [], 0, 0
        for doc in request.documents:
            words = doc.split()
            if request.max_tokens_per_doc and len(words) > request.max_tokens_per_doc:
                words = words[: request.max_tokens_per_doc]
                truncated += 1
            tokens += len(query) + len(words) + 3
            found = {w.lower() for w in words} & query
            scores.append(len(found) / len(query) if query else 0.0)
        return RerankResult(scores=scores, prompt_tokens=tokens, truncated_documents=truncated)


class FakeReranker(_EngineBase):
    """Reranker port with the same counters and knobs as FakeEmbeddingEngine."""

    async def load(self, model: ModelInfo) -> FakeLoadedReranker:
        await self._load(model)
        return FakeLoadedReranker(model, self)

    async def unload(self, model: FakeLoadedReranker) -> None:  # type: ignore[override]
        await self._unload(model.info.name)


def make_info(
    name: str,
    model_type: str = "embedding",
    *,
    dimensions: int | None = DEFAULT_DIMENSIONS,
    max_length: int = 512,
) -> ModelInfo:
    """A ModelInfo for tests (no files behind it)."""
    from mlx_serve.domain.models import ModelType

    return ModelInfo(
        name=name,
        type=ModelType(model_type),
        source=f"test/{name}",
        architecture="bert",
        dimensions=dimensions if model_type == "embedding" else None,
        max_length=max_length,
        dtype="float32",
        size_bytes=1000,
        created=1_700_000_000.0,
    )
