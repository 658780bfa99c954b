"""``POST /rerank`` (infinity's shape, or TEI's when the body carries ``texts``) and vLLM's
``POST /score`` and ``/v1/score``.

Each handler parses its dialect's request model, runs the RerankCall(s) it maps to, and
renders the dialect's response model; ``X-Truncated-Documents`` counts cut documents.
"""

from __future__ import annotations

from dataclasses import replace

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from mlx_serve.entrypoints.http.dialects.infinity import InfinityRerankBody, infinity_response
from mlx_serve.entrypoints.http.dialects.rerank_call import resolve_model, run_rerank
from mlx_serve.entrypoints.http.dialects.tei import TeiRerankBody, tei_response
from mlx_serve.entrypoints.http.dialects.vllm_score import ScoreBody, score_response
from mlx_serve.entrypoints.http.json_body import json_response
from mlx_serve.entrypoints.http.routes.rerank import TRUNCATED_HEADER
from mlx_serve.entrypoints.http.schemas import parse_body, read_json


def blueprint() -> Blueprint:
    bp = Blueprint("rerank_dialects")
    bp.add_route(root_rerank, "/rerank", methods=["POST"], name="root_rerank")
    bp.add_route(score, "/score", methods=["POST"], name="vllm_score")
    bp.add_route(score, "/v1/score", methods=["POST"], name="vllm_score_v1")
    return bp


def _is_tei(request: Request) -> bool:
    data = read_json(request)
    return isinstance(data, dict) and "texts" in data and "documents" not in data


async def root_rerank(request: Request) -> HTTPResponse:
    """infinity's ``/rerank``; TEI's when the body has ``texts`` (and no ``documents``)."""
    services = request.app.ctx.services
    if _is_tei(request):
        tei = parse_body(request, TeiRerankBody)
        call = tei.to_call()
        _, result = await run_rerank(services, call)
        headers = {TRUNCATED_HEADER: str(int(result.truncated_documents))}
        return json_response(tei_response(tei, call, result), headers=headers)
    body = parse_body(request, InfinityRerankBody)
    call = body.to_call()
    model, result = await run_rerank(services, call)
    headers = {TRUNCATED_HEADER: str(int(result.truncated_documents))}
    return json_response(infinity_response(body, call, model, result), headers=headers)


async def score(request: Request) -> HTTPResponse:
    """vLLM's score API: one score per (text_1, text_2) pair, in request order."""
    services = request.app.ctx.services
    body = parse_body(request, ScoreBody)
    calls = body.to_calls()
    # Resolved once: every pair is scored by the same model.
    model = await resolve_model(services, body.model)
    scores: list[float] = [0.0] * sum(len(positions) for positions, _ in calls)
    tokens = truncated = 0
    for positions, call in calls:
        _, result = await run_rerank(services, replace(call, model=model))
        for position, value in zip(positions, result.scores, strict=True):
            scores[position] = float(value)
        tokens += int(result.prompt_tokens)
        truncated += int(result.truncated_documents)
    return json_response(
        score_response(model, scores, tokens), headers={TRUNCATED_HEADER: str(truncated)}
    )
