"""``GET /openapi.json`` and ``GET /docs``: the API description, for programs and for people.

The document is built on first request, once every blueprint is registered, and cached. The
``/docs`` page is plain HTML rendered here from the same document: no script and nothing
fetched from a CDN, so it works on a machine without internet access.
"""

from __future__ import annotations

import html
import json
from typing import Any

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import html as html_response
from sanic.response import json as json_response

from mlx_serve.entrypoints.http.openapi import build_document, documented

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
    "pre{background:#f5f5f5;padding:.6em;overflow:auto;font-size:.85em}"
    "h2{border-bottom:1px solid #ddd}.m{font-family:monospace;font-weight:bold;margin-right:.5em}"
)

def document(app: Sanic) -> dict[str, Any]:
    cached = getattr(app.ctx, "openapi_document", None)
    if cached is None:
        services = getattr(app.ctx, "services", None)
        version = getattr(services, "version", "0")
        cached = build_document(app, title="mlx-serve", version=str(version))
        app.ctx.openapi_document = cached
    return cached

def render_html(doc: dict[str, Any]) -> str:
    """A static page listing every operation with its request and response schemas."""
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(doc['info']['title'])} API"
        f"</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(doc['info']['title'])} {e(doc['info']['version'])}</h1>",
        f"<p>{e(doc['info'].get('description', ''))}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1).</p>",
    ]
    schemas = doc["components"]["schemas"]
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            parts.append(f"<h2><span class='m'>{e(method.upper())}</span>{e(path)}</h2>")
            parts.append(f"<p>{e(op.get('summary', ''))}</p>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                parts.append("<h3>Request body</h3>" + _schema_block(body["schema"], schemas))
            for status, response in op["responses"].items():
                for media, content in response.get("content", {}).items():
                    parts.append(f"<h3>{e(status)} {e(media)}</h3>")
                    parts.append(_schema_block(content["schema"], schemas))
    parts.append("</body></html>")
    return "".join(parts)

def _schema_block(schema: dict[str, Any], schemas: dict[str, Any]) -> str:
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    shown = schemas.get(name, schema)
    title = f"<p><code>{html.escape(name)}</code></p>" if name else ""
    return title + "<pre>" + html.escape(json.dumps(shown, indent=2)) + "</pre>"

@documented(summary="This OpenAPI 3.1 document", content_types={"application/json": None},
            tags=("Server",))
async def openapi_json(request: Request) -> HTTPResponse:
    return json_response(document(request.app))

@documented(summary="The API description as an HTML page (works offline)",
            content_types={"text/html": None}, tags=("Server",))
async def docs(request: Request) -> HTTPResponse:
    return html_response(render_html(document(request.app)))

def install(app: Sanic) -> None:
    bp = Blueprint("api_docs")
    bp.add_route(openapi_json, "/openapi.json", methods=["GET"])
    bp.add_route(docs, "/docs", methods=["GET"])
    app.blueprint(bp)
