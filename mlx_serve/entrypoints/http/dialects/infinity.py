"""infinity's rerank dialect (``POST /rerank``): what litellm's ``infinity/`` provider and the
``infinity_client`` package send and parse.

Differences from Jina's: ``object`` is ``"rerank"``, ``document`` is a plain string and only
comes back when asked (``return_documents`` defaults to false), ``raw_scores`` asks for the
logit instead of the probability, and the response carries ``id`` and ``created``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, StrictBool, StrictInt, StrictStr

from mlx_serve.application.rerank_service import rank
from mlx_serve.domain.inference import RerankResult
from mlx_serve.entrypoints.http.dialects.rerank_call import RerankCall, logit
from mlx_serve.entrypoints.http.routes.rerank import document_texts
from mlx_serve.entrypoints.http.schemas import RequestBody


class InfinityRerankBody(RequestBody):
    """``POST /rerank`` in infinity's shape; ``model`` may be left out (the one reranker)."""

    model: StrictStr | None = None
    query: Any = None
    documents: Any = None
    top_n: StrictInt | None = None
    return_documents: StrictBool = False
    raw_scores: StrictBool = False
    instruction: StrictStr | None = None
    max_tokens_per_doc: StrictInt | None = None

    def to_call(self) -> RerankCall:
        return RerankCall(
            model=self.model,
            query=self.query,
            documents=document_texts(self.documents),
            top_n=self.top_n,
            instruction=self.instruction,
            max_tokens_per_doc=self.max_tokens_per_doc,
        )


class InfinityUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class InfinityRerankResult(BaseModel):
    relevance_score: float
    index: int
    document: str | None = None


class InfinityRerankResponse(BaseModel):
    object: Literal["rerank"] = "rerank"
    results: list[InfinityRerankResult]
    model: str
    usage: InfinityUsage
    id: str
    created: int


def infinity_response(
    body: InfinityRerankBody, call: RerankCall, model: str, result: RerankResult
) -> InfinityRerankResponse:
    """Results by score descending (ties by index), cut to ``top_n``."""
    results = []
    for index in rank(result.scores, body.top_n):
        score = float(result.scores[index])
        fields: dict[str, Any] = {
            "relevance_score": logit(score) if body.raw_scores else score,
            "index": index,
        }
        if body.return_documents:
            fields["document"] = call.documents[index]
        results.append(InfinityRerankResult.model_construct(**fields))
    tokens = int(result.prompt_tokens)
    return InfinityRerankResponse.model_construct(
        object="rerank",
        results=results,
        model=model,
        usage=InfinityUsage.model_construct(prompt_tokens=tokens, total_tokens=tokens),
        id=f"infinity-{uuid.uuid4()}",
        created=int(time.time()),
    )
