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
from mlx_serve.entrypoints.http.errors import redact_paths
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
            try:
                await job.wait()
            except MlxServeError:
                raise  # the error handler answers it with its own status
            except Exception as exc:  # a 5xx that still names its cause
                raise PullError(error_message(exc), status=500) from exc
        return json_response({"status": "success"})
    response = await request.respond(content_type=NDJSON)
    if job is None:
        for status in ("pulling manifest", "success"):
            await response.send(_line({"status": status}))
    else:
        await _stream(job, response, getattr(request.app.ctx, "private_paths", ()))
    await response.eof()
    return None


async def _stream(job: PullJob, response: Any, private_paths: Any) -> None:
    async for event in job.events():
        await response.send(_line(progress_line(event)))
    if job.error is not None:
        message = redact_paths(error_message(job.error), private_paths)
        await response.send(_line({"error": message}))


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
    """What went wrong, for the client: the cause, never a server path."""
    if isinstance(exc, MlxServeError):
        return exc.message
    logger.opt(exception=exc).error("pull failed")
    if isinstance(exc, OSError):
        # str(OSError) carries the file's absolute path; its strerror does not.
        cause = exc.strerror or type(exc).__name__
        return f"pull failed ({type(exc).__name__}: {cause}); see the server log"
    return f"pull failed ({type(exc).__name__}: {exc}); see the server log"


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":")) + "\n"
