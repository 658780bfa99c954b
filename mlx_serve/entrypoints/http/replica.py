"""Naming the replica that answered: an ``X-Replica`` header on every response.

Behind a balancer a client (or an operator reading logs) can tell which replica served a
request; ``/health`` and the probes carry the same name in their body.
"""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse

HEADER = "X-Replica"


def install(app: Sanic, name: str) -> None:
    """Add ``X-Replica: <name>`` to every response of ``app`` and publish the name."""
    app.ctx.services.extras["replica"] = name

    async def add_header(request: Request, response: BaseHTTPResponse) -> None:
        response.headers[HEADER] = name

    app.register_middleware(add_header, "response")


def default_name(hostname: str, port: int) -> str:
    """``hostname:port``: unique per replica on one host and across hosts."""
    return f"{hostname}:{port}"
