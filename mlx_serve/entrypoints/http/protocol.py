"""Sanic's HTTP/1.1 protocol with the connection-level limits it lacks (README "Safe by default").

- **Header deadline**: Sanic's request timeout restarts with every byte, so a client sending a
  header byte a second (slowloris) holds its connection forever. Here the request line and
  headers must be complete within ``HEADER_TIMEOUT`` seconds of the request's first byte (408).
- **Body idle timeout**: Sanic reads the body under the response timeout (minutes); here a
  body that sends nothing for ``BODY_TIMEOUT`` seconds is answered 408 and the connection
  closed.
- **Connection cap**: past ``MAX_CONNECTIONS`` open connections a new one is answered 503 and
  closed before anything is read.
- **Message framing** (RFC 9112 §5.1, §6.1, §6.3): Sanic trims whitespace after a header
  name's colon but not before it, so ``Transfer-Encoding : chunked`` reaches it as an unknown
  header, the body is framed by Content-Length, and a request hidden in it is answered as a
  second one (request smuggling through a proxy that reads it the other way). Whitespace
  before a colon, obsolete line folding, bad field names, Transfer-Encoding other than
  ``chunked`` and Transfer-Encoding together with Content-Length are answered 400 and the
  connection closed.

The limits are read from the app's config (set by ``create_app``) so the class needs no state.
"""

from __future__ import annotations

import asyncio
import re

from sanic.exceptions import BadRequest, RequestTimeout
from sanic.http import Http
from sanic.models.server_types import ConnInfo
from sanic.server.protocols.http_protocol import HttpProtocol

# RFC 9110 §5.6.2 token characters: what a field name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_LINGER_SECONDS = 1.0
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"retry-after: 1\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s"
)
_BUSY_BODY = (
    b'{"error":{"message":"too many open connections (MLX_SERVE_MAX_CONNECTIONS); try again",'
    b'"type":"overloaded_error","param":null,"code":"too_many_connections"}}'
)


def framing_problem(head: bytes) -> str | None:
    """Why the request head ``head`` (request line and headers, no final CRLF) is ambiguous."""
    lines = head.decode("latin-1").split("\r\n")[1:]
    transfer_encodings: list[str] = []
    content_lengths = 0
    for line in lines:
        if line[:1] in (" ", "\t"):
            return "obsolete line folding in a header is not accepted"
        name, colon, value = line.partition(":")
        if not colon:
            return "a header line has no colon"
        if not _TOKEN.fullmatch(name):
            return f"malformed header field name {name[:64]!r} (no whitespace before the colon)"
        lowered = name.lower()
        if lowered == "transfer-encoding":
            transfer_encodings.append(value.strip().lower())
        elif lowered == "content-length":
            content_lengths += 1
    if transfer_encodings and content_lengths:
        return "Transfer-Encoding and Content-Length in one request are not accepted"
    if transfer_encodings and transfer_encodings != ["chunked"]:
        return "the only Transfer-Encoding accepted is a single 'chunked'"
    return None


class GuardedHttp(Http):
    """One HTTP/1.1 connection's request reader, with deadlines and strict framing."""

    async def http1_request_header(self) -> None:  # type: ignore[override]
        timeout = float(self.protocol.app.config.HEADER_TIMEOUT)
        try:
            async with asyncio.timeout(timeout):
                await super().http1_request_header()
        except BadRequest:
            # Sanic refuses some framings itself ("Bad Request"): say which rule was broken.
            end = self.recv_buffer.find(b"\r\n\r\n")
            problem = framing_problem(bytes(self.recv_buffer[:end])) if end > 0 else None
            if problem is None:
                raise
            self.keep_alive = False
            raise BadRequest(f"malformed request framing: {problem}") from None
        except TimeoutError:
            self.keep_alive = False
            raise RequestTimeout(
                f"request headers did not arrive within {timeout:g} s "
                "(MLX_SERVE_HEADER_TIMEOUT_SECONDS)"
            ) from None
        problem = framing_problem(self.request.head)
        if problem is not None:
            self.keep_alive = False
            self.request_body = None  # never read on: what follows may be a smuggled request
            raise BadRequest(f"malformed request framing: {problem}")

    async def read(self) -> bytes | None:  # type: ignore[override]
        timeout = float(self.protocol.app.config.BODY_TIMEOUT)
        try:
            async with asyncio.timeout(timeout):
                return await super().read()
        except TimeoutError:
            self.keep_alive = False
            self.request_body = None  # nothing more is read from this connection
            raise RequestTimeout(
                f"the request body stalled: nothing arrived for {timeout:g} s "
                "(MLX_SERVE_BODY_TIMEOUT_SECONDS)"
            ) from None


class GuardedHttpProtocol(HttpProtocol):
    """Sanic's protocol with GuardedHttp and a cap on open connections."""

    HTTP_CLASS = GuardedHttp
    __slots__ = ("_refused",)  # Sanic's protocols use slots

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._refused = False

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        if len(self.connections) >= int(self.app.config.MAX_CONNECTIONS):
            # Just enough state for connection_lost; no task, nothing parsed.
            self._refused = True
            self.transport = transport
            self.conn_info = ConnInfo(transport, unix=self._unix)
            transport.write(_BUSY % (len(_BUSY_BODY), _BUSY_BODY))
            # Half-close and drain a moment before closing: closing a socket with the
            # client's request unread sends a reset, which can destroy the 503 in flight.
            if transport.can_write_eof():
                transport.write_eof()
            asyncio.get_running_loop().call_later(_LINGER_SECONDS, transport.close)
            return
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # a refused connection's request is read and dropped
        super().data_received(data)
