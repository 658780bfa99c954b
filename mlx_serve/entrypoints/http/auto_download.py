"""Request middleware: pull a model a request names before the route runs (``auto_download``).

Active only when the composition root puts an AutoDownloader in ``services.extras``
under ``"auto_download"`` (the ``auto_download`` setting); otherwise it does nothing.
"""

from __future__ import annotations

import json

from sanic import Request

# Routes whose JSON body names a model in ``model``.
MODEL_ROUTES = frozenset({
    "/v1/embeddings", "/v1/tokenize", "/v1/rerank", "/rerank", "/v2/rerank",
    "/api/embed", "/api/embeddings",
})
_DEFAULT_TAG = ":latest"


async def before_request(request: Request) -> None:
    downloader = request.app.ctx.services.extras.get("auto_download")
    if downloader is None or request.method != "POST" or request.path not in MODEL_ROUTES:
        return
    try:
        body = json.loads(request.body or b"")
    except (ValueError, RecursionError):
        return  # the route answers the malformed body
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, str):
        return
    if model.endswith(_DEFAULT_TAG) and request.path.startswith("/api/"):
        model = model[: -len(_DEFAULT_TAG)]
    await downloader.ensure(model)
