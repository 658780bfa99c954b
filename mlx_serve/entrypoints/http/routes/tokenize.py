"""``POST /v1/tokenize``: the token ids a model would embed, so clients can count and budget."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from mlx_serve.entrypoints.http import response_models as out
from mlx_serve.entrypoints.http.openapi import documented
from mlx_serve.entrypoints.http.schemas import TokenizeBody, parse_body


def blueprint() -> Blueprint:
    bp = Blueprint("tokenize")
    bp.add_route(tokenize, "/v1/tokenize", methods=["POST"])
    return bp


@documented(summary="Token ids of inputs", body=TokenizeBody, response=out.TokenizeResponse)
async def tokenize(request: Request) -> HTTPResponse:
    body = parse_body(request, TokenizeBody)
    _, result = await request.app.ctx.services.embedding.tokenize(body.model, body.input)
    data = [
        {"index": index, "tokens": len(ids), "token_ids": [int(i) for i in ids]}
        for index, ids in enumerate(result.token_ids)
    ]
    return json({"object": "list", "data": data, "model": body.model})
