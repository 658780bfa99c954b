"""``GET /v1/models`` (also ``/models``): the installed models, in the OpenAI list shape plus
their ``type``."""

from __future__ import annotations

import asyncio

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from mlx_serve.entrypoints.http import response_models as out
from mlx_serve.entrypoints.http.openapi import documented


def blueprint() -> Blueprint:
    bp = Blueprint("models")
    bp.add_route(list_models, "/v1/models", methods=["GET"])
    # Un-prefixed, for clients given the server root as base URL.
    bp.add_route(list_models, "/models", methods=["GET"], name="list_models_root")
    return bp


@documented(summary="List installed models (OpenAI)", response=out.ModelList)
async def list_models(request: Request) -> HTTPResponse:
    # Listing reads one metadata file per model: off the event loop.
    infos = await asyncio.to_thread(request.app.ctx.services.catalog.list)
    data = [
        {
            "id": info.name,
            "object": "model",
            "created": int(info.created),
            "owned_by": "mlx-serve",
            "type": info.type.value,
        }
        for info in infos
    ]
    return json({"object": "list", "data": data})
