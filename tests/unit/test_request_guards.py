"""The pure checks behind the HTTP guards: hosts, origins, text, request framing."""

from __future__ import annotations

import pytest

from mlx_serve.domain.errors import InvalidRequest
from mlx_serve.entrypoints.http.guards import RequestGuards, check_text, hostname_of
from mlx_serve.entrypoints.http.protocol import framing_problem

GUARDS = RequestGuards(
    allowed_origins=("https://app.example",), allowed_hosts=("api.example",),
    own_names=frozenset({"box", "box.local"}),
)


@pytest.mark.parametrize(("host", "allowed"), [
    ("127.0.0.1:8000", True), ("10.1.2.3", True), ("[::1]:8000", True), ("localhost", True),
    ("LOCALHOST:1", True), ("web.localhost", True), ("box.local:8000", True),
    ("api.example", True), ("api.example.", True), (None, True),
    ("evil.example", False), ("localhost.evil.example", False), ("127.0.0.1.evil", False),
    ("a:b:c", False), ("host:notaport", False), ("", False),
])
def test_hosts(host, allowed):
    assert GUARDS.host_allowed(host) is allowed


@pytest.mark.parametrize(("origin", "allowed"), [
    (None, True), ("http://localhost:3000", True), ("https://127.0.0.1", True),
    ("http://[::1]:5173", True), ("https://app.example", True), ("https://APP.example/", True),
    ("http://evil.example", False), ("http://app.example", False), ("null", False),
    ("file://", False), ("http://localhost.evil.example", False),
])
def test_origins(origin, allowed):
    assert GUARDS.origin_allowed(origin) is allowed


def test_star_allows_any():
    anything = RequestGuards.of(["*"], ["*"])
    assert anything.origin_allowed("http://evil.example")
    assert anything.host_allowed("evil.example")


def test_hostname_of():
    assert hostname_of("Example.COM:80") == "example.com"
    assert hostname_of("[::1]:80") == "::1"
    assert hostname_of("x:99999") is None


@pytest.mark.parametrize(("body", "param"), [
    (b'{"input": "\\ud800"}', "input"),
    (b'{"input": ["ok", "a\\uDFFFb"]}', "input[1]"),
    (b'{"documents": [{"text": "\\udbff"}]}', "documents[0].text"),
])
def test_lone_surrogates_are_named(body, param):
    with pytest.raises(InvalidRequest) as err:
        check_text(body)
    assert err.value.param == param and "surrogate" in err.value.message


@pytest.mark.parametrize("body", [
    b"", b'{"input": "\\ud83c\\udfb5 music"}', b'{"input": "plain"}', b"not json \\ud800",
])
def test_valid_text_passes(body):
    check_text(body)


def test_invalid_utf8_is_refused():
    with pytest.raises(InvalidRequest, match="UTF-8"):
        check_text(b'{"input": "\xc3\x28"}')


HEAD = b"POST /x HTTP/1.1\r\nHost: a\r\n"


@pytest.mark.parametrize(("headers", "problem"), [
    (b"Content-Length: 5", None),
    (b"Transfer-Encoding: chunked", None),
    (b"Transfer-Encoding: Chunked", None),
    (b"Transfer-Encoding : chunked\r\nContent-Length: 5", "field name"),
    (b"Content-Length: 5\r\nTransfer-Encoding: chunked", "Transfer-Encoding and Content-Length"),
    (b"Transfer-Encoding: gzip, chunked", "only Transfer-Encoding"),
    (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", "only Transfer-Encoding"),
    (b"Content-Length: 5\r\n folded", "folding"),
    (b"No colon here", "no colon"),
    (b"Bad\x00Name: x", "field name"),
])
def test_framing(headers, problem):
    found = framing_problem(HEAD + headers)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
