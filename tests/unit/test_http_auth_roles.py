"""Which role a route needs and which key a request carries (entrypoints/http/auth.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mlx_serve.application.access import Role
from mlx_serve.entrypoints.http.auth import presented_key, route_role


def request(path="/v1/embeddings", method="POST", headers=None, role=None):
    route = SimpleNamespace(ctx=SimpleNamespace(role=role)) if role else None
    return SimpleNamespace(path=path, method=method, headers=headers or {}, route=route)


@pytest.mark.parametrize(
    ("path", "method", "role"),
    [
        ("/health", "GET", None),
        ("/openapi.json", "GET", None),
        ("/docs", "GET", None),
        ("/v1/embeddings", "OPTIONS", None),  # preflights carry no credentials
        ("/v1/embeddings", "POST", Role.INFERENCE),
        ("/api/tags", "GET", Role.INFERENCE),
        ("/no/such/route", "GET", Role.INFERENCE),  # unknown paths reveal nothing
        ("/api/pull", "POST", Role.ADMIN),
        ("/api/delete", "DELETE", Role.ADMIN),
    ],
)
def test_route_roles(path, method, role):
    assert route_role(request(path, method), metrics_require_key=True) is role


def test_metrics_follow_their_setting():
    assert route_role(request("/metrics", "GET"), metrics_require_key=True) is Role.INFERENCE
    assert route_role(request("/metrics", "GET"), metrics_require_key=False) is None


def test_routes_may_declare_the_admin_role():
    assert route_role(request("/v1/models/x", "DELETE", role="admin"), True) is Role.ADMIN


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"authorization": "Bearer abc"}, "abc"),
        ({"authorization": "bearer   abc  "}, "abc"),
        ({"authorization": "Basic abc"}, None),
        ({"authorization": "Basic abc", "x-api-key": "k"}, "k"),
        ({"authorization": "Bearer "}, None),
        ({"x-api-key": " k "}, "k"),
        ({"authorization": "Bearer a", "x-api-key": "b"}, "a"),
        ({}, None),
    ],
)
def test_presented_key(headers, key):
    assert presented_key(request(headers=headers)) == key
