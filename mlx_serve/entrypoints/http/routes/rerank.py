"""Reranking: ``POST /v1/rerank`` (Jina) and ``POST /v2/rerank`` (Cohere v2).

``POST /rerank`` (infinity's and TEI's shapes) lives in rerank_dialects.

The JSON shape is checked here; what the values mean (empty query, too many documents,
``top_n`` < 1, an embedding model) is RerankService's job. Results are sorted by score
descending, ties by index ascending; ``X-Truncated-Documents`` counts documents cut to fit
``max_tokens_per_doc`` or the model's maximum length.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw

from mlx_serve.application.rerank_service import rank
from mlx_serve.domain.errors import InvalidRequest, MlxServeError
from mlx_serve.domain.inference import RerankResult
from mlx_serve.entrypoints.http import response_models as out
from mlx_serve.entrypoints.http.openapi import documented
from mlx_serve.entrypoints.http.schemas import RequestBody, parse_body

TRUNCATED_HEADER = "X-Truncated-Documents"


class JinaRerankBody(RequestBody):
    """``POST /v1/rerank`` and ``/rerank``; ``query``/``documents`` are checked below."""

    model: StrictStr
    query: Any = None
    documents: Any = None
    top_n: StrictInt | None = None
    return_documents: StrictBool = True
    return_text: StrictBool = False
    decision_threshold: StrictFloat | StrictInt = 0.5
    instruction: StrictStr | None = None
    max_tokens_per_doc: StrictInt | None = None


class CohereRerankBody(RequestBody):
    """``POST /v2/rerank``: documents only come back when asked for."""

    model: StrictStr
    query: Any = None
    documents: Any = None
    top_n: StrictInt | None = None
    return_documents: StrictBool = False
    instruction: StrictStr | None = None
    max_tokens_per_doc: StrictInt | None = None


def blueprint() -> Blueprint:
    bp = Blueprint("rerank")
    bp.add_route(jina_rerank, "/v1/rerank", methods=["POST"], name="jina_rerank_v1")
    bp.add_route(cohere_rerank, "/v2/rerank", methods=["POST"], name="cohere_rerank")
    return bp


def document_texts(documents: Any) -> list[str]:
    """Documents as strings: each item a string or ``{"text": str}``; InvalidRequest else.

    An empty list is passed on: the service rejects it with the same message everywhere.
    """
    if not isinstance(documents, list):
        raise InvalidRequest(
            "'documents' must be a list of strings or {\"text\": ...} objects", param="documents"
        )
    texts: list[str] = []
    for index, item in enumerate(documents):
        if isinstance(item, dict) and "text" in item:
            item = item["text"]
        if not isinstance(item, str):
            raise InvalidRequest(
                f"documents[{index}] must be a string or an object with a string 'text'",
                param=f"documents[{index}]",
            )
        texts.append(item)
    return texts


async def _rerank(
    request: Request, body: JinaRerankBody | CohereRerankBody
) -> tuple[list[str], RerankResult]:
    service = request.app.ctx.services.rerank
    if service is None:
        raise MlxServeError("reranking is not available in this server")
    texts = document_texts(body.documents)
    _, result = await service.rerank(
        body.model,
        body.query,
        texts,
        top_n=body.top_n,
        instruction=body.instruction,
        max_tokens_per_doc=body.max_tokens_per_doc,
    )
    return texts, result


def _respond(payload: dict[str, Any], result: RerankResult) -> HTTPResponse:
    # allow_nan=False: the service already refuses non-finite scores; never emit them.
    data = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()
    return raw(
        data,
        content_type="application/json",
        headers={TRUNCATED_HEADER: str(int(result.truncated_documents))},
    )


@documented(summary="Rerank documents (Jina)", body=JinaRerankBody,
            response=out.JinaRerankResponse, response_headers=(TRUNCATED_HEADER,))
async def jina_rerank(request: Request) -> HTTPResponse:
    """The Jina rerank API, plus ``instruction`` and ``max_tokens_per_doc``."""
    body = parse_body(request, JinaRerankBody)
    try:
        threshold = float(body.decision_threshold)
    except OverflowError:  # an integer too large for a float (10**400)
        threshold = math.inf
    if not 0.0 <= threshold <= 1.0 or math.isnan(threshold):
        raise InvalidRequest(
            "'decision_threshold' must be a number between 0 and 1", param="decision_threshold"
        )
    texts, result = await _rerank(request, body)
    results: list[dict[str, Any]] = []
    for index in rank(result.scores, body.top_n):
        score = float(result.scores[index])
        item: dict[str, Any] = {"index": index, "relevance_score": score}
        if body.return_documents:
            item["document"] = {"text": texts[index]}
        if body.return_text:
            item["text_output"] = "yes" if score >= threshold else "no"
        results.append(item)
    tokens = int(result.prompt_tokens)
    payload = {
        "model": body.model,
        "object": "list",
        "results": results,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return _respond(payload, result)


@documented(summary="Rerank documents (Cohere v2)", body=CohereRerankBody,
            response=out.CohereRerankResponse, response_headers=(TRUNCATED_HEADER,))
async def cohere_rerank(request: Request) -> HTTPResponse:
    """The Cohere v2 rerank API."""
    body = parse_body(request, CohereRerankBody)
    texts, result = await _rerank(request, body)
    results: list[dict[str, Any]] = []
    for index in rank(result.scores, body.top_n):
        item: dict[str, Any] = {"index": index, "relevance_score": float(result.scores[index])}
        if body.return_documents:
            item["document"] = {"text": texts[index]}
        results.append(item)
    payload = {
        "id": str(uuid.uuid4()),
        "results": results,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }
    return _respond(payload, result)
