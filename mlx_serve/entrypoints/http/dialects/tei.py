"""Text Embeddings Inference's rerank dialect (``POST /rerank`` with ``texts``): what
Haystack's ``HuggingFaceTEIRanker`` sends. The answer is a bare list ``[{index, score}]``
sorted by score; TEI requests name no model, so the one installed reranker answers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, StrictBool, StrictInt, StrictStr

from mlx_serve.application.rerank_service import rank
from mlx_serve.domain.errors import InvalidRequest
from mlx_serve.domain.inference import RerankResult
from mlx_serve.entrypoints.http.dialects.rerank_call import RerankCall, logit, renamed
from mlx_serve.entrypoints.http.routes.rerank import document_texts
from mlx_serve.entrypoints.http.schemas import RequestBody

NAMES = {"documents": "texts"}


class TeiRerankBody(RequestBody):
    """TEI's ``/rerank``. ``truncate``/``truncation_direction`` are accepted: inputs are always
    cut to the model's maximum (and counted in ``X-Truncated-Documents``)."""

    model: StrictStr | None = None
    query: Any = None
    texts: Any = None
    raw_scores: StrictBool = False
    return_text: StrictBool = False
    truncate: StrictBool | None = None
    top_n: StrictInt | None = None
    instruction: StrictStr | None = None

    def to_call(self) -> RerankCall:
        try:
            texts = document_texts(self.texts)
        except InvalidRequest as exc:  # named in TEI's words
            raise renamed(exc, NAMES) from None
        return RerankCall(
            model=self.model,
            query=self.query,
            documents=texts,
            top_n=self.top_n,
            instruction=self.instruction,
            names=NAMES,
        )


class TeiRank(BaseModel):
    index: int
    score: float
    text: str | None = None


def tei_response(body: TeiRerankBody, call: RerankCall, result: RerankResult) -> list[TeiRank]:
    ranks = []
    for index in rank(result.scores, body.top_n):
        score = float(result.scores[index])
        value = logit(score) if body.raw_scores else score
        fields: dict[str, Any] = {"index": index, "score": value}
        if body.return_text:
            fields["text"] = call.documents[index]
        ranks.append(TeiRank.model_construct(**fields))
    return ranks
