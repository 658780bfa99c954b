"""vLLM's score dialect (``POST /score`` and ``/v1/score``): ``text_1`` against ``text_2``.

``text_1`` is one query (a string, or a list of one) scored against every ``text_2``, or a
list as long as ``text_2`` pairing each query with its document. Scores come back in request
order, not ranked.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, StrictInt, StrictStr

from mlx_serve.domain.errors import InvalidRequest
from mlx_serve.entrypoints.http.dialects.rerank_call import RerankCall
from mlx_serve.entrypoints.http.schemas import RequestBody

NAMES = {"documents": "text_2", "query": "text_1"}


def _texts(value: Any, param: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise InvalidRequest(
            f"'{param}' must be a string or a non-empty list of strings", param=param
        )
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidRequest(
                f"{param}[{index}] must be a string, got {type(item).__name__}",
                param=f"{param}[{index}]",
            )
    return items


class ScoreBody(RequestBody):
    """vLLM's ``ScoreRequest`` (``model`` may be left out: the one installed reranker)."""

    model: StrictStr | None = None
    text_1: Any = None
    text_2: Any = None
    truncate_prompt_tokens: StrictInt | None = None

    def to_calls(self) -> list[tuple[list[int], RerankCall]]:
        """One call per distinct query, with the positions of its pairs in the response."""
        queries = _texts(self.text_1, "text_1")
        documents = _texts(self.text_2, "text_2")
        if len(queries) == 1:
            queries = queries * len(documents)
        elif len(queries) != len(documents):
            raise InvalidRequest(
                f"'text_1' has {len(queries)} items and 'text_2' {len(documents)}: send one "
                "text_1, or as many as text_2",
                param="text_1",
            )
        if self.truncate_prompt_tokens is not None and self.truncate_prompt_tokens < 1 \
                and self.truncate_prompt_tokens != -1:
            raise InvalidRequest(
                "'truncate_prompt_tokens' must be -1 (the model's maximum) or >= 1",
                param="truncate_prompt_tokens",
            )
        per_document = None
        if self.truncate_prompt_tokens is not None and self.truncate_prompt_tokens > 0:
            per_document = self.truncate_prompt_tokens
        groups: dict[str, list[int]] = {}
        for position, query in enumerate(queries):
            groups.setdefault(query, []).append(position)
        return [
            (
                positions,
                RerankCall(
                    model=self.model,
                    query=query,
                    documents=[documents[p] for p in positions],
                    max_tokens_per_doc=per_document,
                    names=NAMES,
                ),
            )
            for query, positions in groups.items()
        ]


class ScoreData(BaseModel):
    index: int
    object: Literal["score"] = "score"
    score: float


class ScoreUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int
    completion_tokens: int = 0


class ScoreResponse(BaseModel):
    id: str
    object: Literal["list"] = "list"
    created: int
    model: str
    data: list[ScoreData]
    usage: ScoreUsage


def score_response(model: str, scores: list[float], prompt_tokens: int) -> ScoreResponse:
    return ScoreResponse.model_construct(
        id=f"score-{uuid.uuid4().hex}",
        object="list",
        created=int(time.time()),
        model=model,
        data=[
            ScoreData.model_construct(index=i, object="score", score=s)
            for i, s in enumerate(scores)
        ],
        usage=ScoreUsage.model_construct(
            prompt_tokens=prompt_tokens, total_tokens=prompt_tokens, completion_tokens=0
        ),
    )
