"""API keys at the HTTP edge: which role a route needs, which key the client sent.

The decision itself is the application's AccessPolicy. Keys come as ``Authorization: Bearer
<key>`` (what the OpenAI, Cohere and Ollama SDKs send) or ``x-api-key: <key>``. Open without a
key: ``/health`` (supervisors and load balancers), the API description (``/openapi.json``,
``/docs``), CORS preflights (browsers never send credentials on them) and, when
``metrics_require_key`` is false, ``/metrics``. Model management (``/api/pull``,
``/api/delete``, and any route registered with ``ctx_role="admin"``) needs the admin role.
Refusals use the envelope of the route's dialect (errors.error_response).
"""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from mlx_serve.application.access import AccessPolicy, Role, Verdict
from mlx_serve.entrypoints.http.errors import error_response

OPEN_PATHS = frozenset({"/health", "/openapi.json", "/docs"})
ADMIN_PATHS = frozenset({"/api/pull", "/api/delete"})
METRICS_PATH = "/metrics"


def presented_key(request: Request) -> str | None:
    """The key the client sent: a Bearer token, else ``x-api-key``; None when neither."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = request.headers.get("x-api-key", "").strip()
    return key or None


def route_role(request: Request, metrics_require_key: bool) -> Role | None:
    """The role ``request`` needs; None for open routes."""
    path = request.path
    if request.method == "OPTIONS" or path in OPEN_PATHS:
        return None
    if path == METRICS_PATH:
        return Role.INFERENCE if metrics_require_key else None
    route = getattr(request, "route", None)
    declared = getattr(getattr(route, "ctx", None), "role", None)
    if path in ADMIN_PATHS or declared == "admin":
        return Role.ADMIN
    return Role.INFERENCE


def install(app: Sanic, policy: AccessPolicy, *, metrics_require_key: bool = True) -> None:
    """Check keys before any handler (and before auto-download) runs."""
    if not policy.enabled:
        return

    async def _check(request: Request) -> HTTPResponse | None:
        role = route_role(request, metrics_require_key)
        if role is None:
            return None
        verdict = policy.check(role, presented_key(request))
        if verdict is Verdict.ALLOWED:
            return None
        path = request.path
        if verdict is Verdict.FORBIDDEN:
            return error_response(
                path, 403,
                "this API key may not manage models; use an admin key (MLX_SERVE_ADMIN_API_KEY)",
                code="insufficient_permissions",
            )  # fmt: skip
        message = (
            "missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'"
            if verdict is Verdict.MISSING
            else "invalid API key"
        )
        return error_response(
            path, 401, message, code="invalid_api_key",
            headers={"WWW-Authenticate": 'Bearer realm="mlx-serve"'},
        )  # fmt: skip

    app.register_middleware(_check, "request", priority=70)
