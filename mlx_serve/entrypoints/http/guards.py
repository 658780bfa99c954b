"""Request guards every route passes, as Sanic request middleware (see README "Safe by default").

- **Host** (DNS rebinding): a page on ``evil.example`` whose name a resolver later points at
  127.0.0.1 reaches the server with ``Host: evil.example``. IP literals, ``localhost``
  (and ``*.localhost``), this machine's own name and the configured ``allowed_hosts`` pass;
  other names get 403.
- **Origin** (cross-site requests): a browser names the page's origin; loopback origins and the
  configured ``allowed_origins`` pass, others get 403. Requests without ``Origin`` (curl, SDKs)
  are not from a web page and pass.
- **Content-Type**: a state-changing request (POST, PUT, PATCH, DELETE) with a body must say
  ``application/json`` (or say nothing; it is read as JSON). A browser sends ``text/plain``
  and form bodies cross-site without a preflight; JSON needs one, which CORS then governs.
- **Text**: a body that is not UTF-8, or a JSON string holding a lone UTF-16 surrogate
  (``"\\ud800"`` is valid JSON but no text), is answered 400 naming the field, on every route,
  before any handler or tokenizer sees it.

The checks run before every other middleware (auth, CORS, auto-download) registered later.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from mlx_serve.domain.errors import InvalidRequest
from mlx_serve.entrypoints.http.errors import error_response

_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
# A JSON escape of a UTF-16 surrogate; only then can a parsed string hold a lone one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# Run before any middleware registered later (auth, CORS, auto-download).
GUARD_PRIORITY = 1000


@dataclass(frozen=True)
class RequestGuards:
    """Which origins and hosts may call the server, besides loopback ones.

    ``"*"`` in either list allows any. ``own_names``: this machine's names, allowed as hosts.
    """

    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    own_names: frozenset[str] = field(default_factory=lambda: machine_names())

    @classmethod
    def of(cls, allowed_origins: Iterable[str], allowed_hosts: Iterable[str]) -> RequestGuards:
        return cls(
            allowed_origins=tuple(o.strip().rstrip("/").lower() for o in allowed_origins),
            allowed_hosts=tuple(h.strip().lower() for h in allowed_hosts),
        )

    def host_allowed(self, host_header: str | None) -> bool:
        if host_header is None or "*" in self.allowed_hosts:
            return True  # HTTP/1.0 clients may send none; a browser always sends one
        name = hostname_of(host_header)
        if name is None:
            return False
        return (
            _is_ip(name)
            or _is_loopback_name(name)
            or name in self.own_names
            or name in self.allowed_hosts
        )

    def origin_allowed(self, origin: str | None) -> bool:
        if origin is None or "*" in self.allowed_origins:
            return True
        normalised = origin.strip().rstrip("/").lower()
        if normalised in self.allowed_origins:
            return True
        try:
            parts = urlsplit(normalised)
            name = parts.hostname
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not name:
            return False
        return _is_loopback_name(name) or _is_loopback_ip(name)


def machine_names() -> frozenset[str]:
    """This machine's host name, with and without its domain and with ``.local`` (mDNS).

    ``gethostname`` only: ``getfqdn`` asks DNS, which can stall a start for seconds.
    """
    try:
        name = socket.gethostname().lower()
    except OSError:
        return frozenset()
    if not name:
        return frozenset()
    short = name.split(".")[0]
    return frozenset({name, short, f"{short}.local"})


def hostname_of(host_header: str) -> str | None:
    """The name in a Host header (``name``, ``name:port``, ``[v6]:port``); None if malformed."""
    try:
        parts = urlsplit(f"//{host_header.strip()}")
        name = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    return name.rstrip(".") if name else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_loopback_ip(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_loopback_name(name: str) -> bool:
    return name in _LOOPBACK_NAMES or name.endswith(".localhost")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and
                                            media.endswith("+json"))


def _has_body(request: Request) -> bool:
    if request.body:
        return True
    length = request.headers.get("content-length")
    return bool(request.headers.get("transfer-encoding")) or (
        length is not None and length.strip() not in ("", "0")
    )


def check_text(body: bytes) -> None:
    """InvalidRequest when ``body`` is not UTF-8 or a JSON string in it is not valid text."""
    if not body:
        return
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"request body is not valid UTF-8 (byte {exc.start}: {body[exc.start:exc.start + 1]!r})"
        ) from None
    if not _SURROGATE_ESCAPE.search(body):
        return
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return  # not JSON: the route's own parser answers that
    where = _undecodable(data, "")
    if where is not None:
        param = where or None
        raise InvalidRequest(
            f"{where or 'the body'} contains a lone UTF-16 surrogate (an escape such as "
            "\\ud800 without its pair), which is not text; send valid Unicode",
            param=param,
        )


def _undecodable(value: Any, where: str) -> str | None:
    """The path (``input[2]``) of the first string (or key) that is not encodable text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _undecodable(item, f"{where}[{index}]")
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if _undecodable(key, path) is not None:
                return where or "a key"
            found = _undecodable(item, path)
            if found is not None:
                return found
    return None


def install(app: Sanic, guards: RequestGuards) -> None:
    """Register the guards as the app's first request middleware."""

    async def guard(request: Request) -> HTTPResponse | None:
        path = request.path
        host = request.headers.get("host")
        if not guards.host_allowed(host):
            return error_response(
                path, 403,
                f"host '{(host or '')[:200]}' is not allowed; add it to "
                "MLX_SERVE_ALLOWED_HOSTS to serve it",
                code="host_not_allowed",
            )
        origin = request.headers.get("origin")
        if not guards.origin_allowed(origin):
            return error_response(
                path, 403,
                f"origin '{(origin or '')[:200]}' is not allowed; add it to "
                "MLX_SERVE_ALLOWED_ORIGINS to let its pages call this server",
                code="origin_not_allowed",
            )
        if getattr(request.ctx, "failed", False):
            # Sanic runs request middleware again while answering an error (413, 408, 400):
            # the body is incomplete, and that error is the answer, not the body's checks.
            return None
        if request.method in _STATE_CHANGING and _has_body(request):
            content_type = request.headers.get("content-type")
            # None: read as JSON (scripts often send none; a browser's cross-site request
            # carries an Origin, which the check above already judged).
            if content_type is not None and not _is_json(content_type):
                return error_response(
                    path, 415,
                    f"Content-Type must be application/json, got '{content_type}'"[:300],
                    param="Content-Type",
                    code="unsupported_media_type",
                )
        check_text(request.body)
        return None

    async def mark_failed(request: Request, exception: BaseException) -> None:
        if request is not None:
            request.ctx.failed = True

    app.register_middleware(guard, "request", priority=GUARD_PRIORITY)
    app.add_signal(mark_failed, "http.lifecycle.exception")
