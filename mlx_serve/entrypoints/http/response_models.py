"""The JSON the routes answer, as pydantic models: the OpenAPI document's response schemas.

The routes build these bodies as plain dicts (fast JSON); these models describe them, and the
schema fuzz test checks every live response against the document, so they cannot drift apart
silently. Extra fields are allowed (clients ignore them), required fields are not optional.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | int | None


class OpenAIError(BaseModel):
    """The error envelope of every route outside ``/api``."""

    error: OpenAIErrorDetail


class OllamaError(BaseModel):
    """The error envelope of ``/api/*`` (Ollama)."""

    error: str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class Embedding(BaseModel):
    object: Literal["embedding"]
    embedding: list[float] | str  # a base64 string with encoding_format=base64
    index: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: Usage


class ModelEntry(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    type: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelEntry]


class TokenizedInput(BaseModel):
    index: int
    tokens: int
    token_ids: list[int]


class TokenizeResponse(BaseModel):
    object: Literal["list"]
    data: list[TokenizedInput]
    model: str


class RerankDocument(BaseModel):
    text: str


class JinaRerankResult(BaseModel):
    index: int
    relevance_score: float
    document: RerankDocument | None = None
    text_output: Literal["yes", "no"] | None = None


class JinaRerankResponse(BaseModel):
    model: str
    object: Literal["list"]
    results: list[JinaRerankResult]
    usage: Usage


class CohereRerankResult(BaseModel):
    index: int
    relevance_score: float
    document: RerankDocument | None = None


class CohereRerankResponse(BaseModel):
    id: str
    results: list[CohereRerankResult]
    meta: dict[str, Any]


class ResidentModelEntry(BaseModel):
    name: str
    type: str
    expires_at: str | None
    in_use: int
    memory_bytes: int
    engine: str | None = None


class HealthResponse(BaseModel):
    """200 while serving; the same body with 503 while starting or draining."""

    status: str
    version: str
    device: str
    models_loaded: list[str]
    models: list[ResidentModelEntry]
    preload_failures: dict[str, str] | None = None


class OllamaModel(BaseModel):
    name: str
    model: str
    modified_at: str | None
    size: int
    digest: str
    details: dict[str, Any]


class OllamaTags(BaseModel):
    models: list[OllamaModel]


class OllamaShow(BaseModel):
    details: dict[str, Any]
    model_info: dict[str, Any]
    capabilities: list[str]


class OllamaRunning(BaseModel):
    models: list[dict[str, Any]]


class OllamaVersion(BaseModel):
    version: str


class OllamaEmbed(BaseModel):
    model: str
    embeddings: list[list[float]]
    total_duration: int
    load_duration: int
    prompt_eval_count: int


class OllamaLegacyEmbedding(BaseModel):
    embedding: list[float]


class OllamaStatus(BaseModel):
    """One line of the pull's NDJSON stream, or the whole answer with ``stream: false``."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None
