"""``POST /api/pull``: pull a model as a background job, streaming NDJSON progress.

The pull runs as a PullJob, not in the request: a client that disconnects does not stop it,
and a second request for the same model joins it. Only Hub repo ids and aliases are pulled
over HTTP; a local path is refused (a remote client must not read the server's disk).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from loguru import logger
from sanic import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from mlx_serve.application.pull_jobs import PullJob, PullJobs
from mlx_serve.domain.errors import MlxServeError, ModelNotFound, PullError
from mlx_serve.domain.ports import PullProgress
from mlx_serve.entrypoints.http import response_models as out
from mlx_serve.entrypoints.http.ollama_bodies import PullBody
from mlx_serve.entrypoints.http.openapi import documented
from mlx_serve.entrypoints.http.schemas import parse_body

NDJSON = "application/x-ndjson"


def pull_jobs(services: Any) -> PullJobs:
    """The server's pull registry, wired by the composition root (over a Hub-only catalog).

    A controller never builds one itself: over the full catalog it could import directories
    from the server's own disk.
    """
    jobs = services.extras.get("pulls")
    if jobs is None:
        raise PullError("pulling models is not enabled on this server", status=503)
    return jobs


@documented(summary="Pull a model from the Hub (Ollama; admin key)", body=PullBody,
            response=out.OllamaStatus, content_types={NDJSON: out.OllamaStatus})
async def pull(request: Request) -> HTTPResponse | None:
    body = parse_body(request, PullBody)
    ref = body.reference()
    options = body.options()  # every 400 is answered before anything starts
    services = request.app.ctx.services
    # A plain pull of an installed model has nothing to do (Ollama answers success too); one
    # with options (quantize, revision, force, ...) goes to the catalog, which decides.
    installed = None if options else await asyncio.to_thread(_installed, services, ref)
    job = None if installed is not None else pull_jobs(services).start(ref, **options)
    if not body.stream:
        if job is not None:
            await job.wait()  # raises the pull's error: the error handler answers it
        return json_response({"status": "success"})
    response = await request.respond(content_type=NDJSON)
    if job is None:
        for status in ("pulling manifest", "success"):
            await response.send(_line({"status": status}))
    else:
        await _stream(job, response)
    await response.eof()
    return None


async def _stream(job: PullJob, response: Any) -> None:
    async for event in job.events():
        await response.send(_line(progress_line(event)))
    if job.error is not None:
        await response.send(_line({"error": error_message(job.error)}))


def _installed(services: Any, ref: str) -> Any:
    """The model ``ref`` already names, when it is installed (a pull has nothing to do)."""
    try:
        return services.catalog.resolve(ref)
    except ModelNotFound:
        return None


def progress_line(event: PullProgress) -> dict[str, Any]:
    line: dict[str, Any] = {"status": event.status}
    if event.digest is not None:
        line["digest"] = event.digest
    if event.total is not None:
        line["total"] = event.total
    if event.completed is not None:
        line["completed"] = event.completed
    return line


def error_message(exc: BaseException) -> str:
    if isinstance(exc, MlxServeError):
        return exc.message
    logger.opt(exception=exc).error("pull failed")
    return f"pull failed ({type(exc).__name__}: {exc}); see the server log"


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":")) + "\n"
