"""CORS for the origins in ``allowed_origins`` (off when empty; ``*`` allows any origin).

Preflights (``OPTIONS`` with ``Access-Control-Request-Method``) from an allowed origin are
answered here with 204, before routing and auth: browsers send no credentials on them.
Responses to allowed origins get ``Access-Control-Allow-Origin`` (the origin itself, with
``Vary: Origin``, so caches keep per-origin copies) and expose our own headers. Refusing other
origins outright is the origin guard's job; here they just get no CORS headers, so browsers
block the response.
"""

from __future__ import annotations

from collections.abc import Iterable

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse, HTTPResponse

ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, X-Api-Key, X-Request-Id"
EXPOSE_HEADERS = "X-Request-Id, X-Truncated-Inputs, X-Truncated-Documents, Retry-After"
PREFLIGHT_MAX_AGE_SECONDS = 600


def install(app: Sanic, allowed_origins: Iterable[str]) -> None:
    origins = frozenset(o.strip().rstrip("/") for o in allowed_origins if o.strip())
    if not origins:
        return
    any_origin = "*" in origins

    def allowed(request: Request) -> str | None:
        origin = request.headers.get("origin")
        if origin and (any_origin or origin.rstrip("/") in origins):
            return origin
        return None

    async def _preflight(request: Request) -> HTTPResponse | None:
        if request.method != "OPTIONS" or "access-control-request-method" not in request.headers:
            return None
        origin = allowed(request)
        if origin is None:
            return None  # not ours to allow: routing answers (405) without CORS headers
        return HTTPResponse(status=204, headers={
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
        })  # fmt: skip

    async def _headers(request: Request, response: BaseHTTPResponse) -> None:
        origin = allowed(request)
        if origin is None:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        vary = response.headers.get("Vary")
        response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"

    app.register_middleware(_preflight, "request", priority=80)
    app.register_middleware(_headers, "response", priority=80)
