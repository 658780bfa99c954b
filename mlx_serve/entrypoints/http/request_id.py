"""``X-Request-Id``: taken from the client when it is sane, made up otherwise, echoed back.

The id lives in a context variable for the request's task (and the worker threads it starts
with ``asyncio.to_thread``, which copy the context), so every log line written while serving
the request carries it (see logging.py).
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from loguru import logger
from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse

HEADER = "X-Request-Id"
# What we echo back: printable, header-safe, bounded (a log line must not carry megabytes).
_SANE = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")

current_request_id: ContextVar[str] = ContextVar("mlx_serve_request_id", default="-")


def request_id_of(request: Request) -> str:
    """The id of ``request`` (the client's, if sane, else a new uuid4 hex)."""
    rid = getattr(request.ctx, "request_id", None)
    if rid is None:
        sent = request.headers.get(HEADER, "")
        rid = sent if _SANE.fullmatch(sent) else uuid.uuid4().hex
        request.ctx.request_id = rid
    return rid


async def _assign(request: Request) -> None:
    current_request_id.set(request_id_of(request))


async def _echo(request: Request, response: BaseHTTPResponse) -> None:
    response.headers[HEADER] = request_id_of(request)
    # The access line (Sanic's own access log is off: it is slow and lacks the id).
    logger.debug("{} {} -> {}", request.method, request.path, response.status)


def install(app: Sanic) -> None:
    # Highest priority: runs before auth, so even a 401 carries the id.
    app.register_middleware(_assign, "request", priority=100)
    app.register_middleware(_echo, "response", priority=100)
