"""Route the standard ``logging`` records (Sanic's loggers, libraries) into loguru.

One sink, one format: Sanic's ``sanic.root``/``sanic.error``/``sanic.access``/``sanic.server``
loggers and every other stdlib logger end up where loguru writes. Every record carries the
``request_id`` of the request being served (``-`` outside one); ``fmt="json"`` writes one JSON
object per line (loguru's ``serialize``), for log shippers.
"""

from __future__ import annotations

import inspect
import logging
import sys

from loguru import logger

from mlx_serve.entrypoints.http.request_id import current_request_id

TEXT_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | "
    "{extra[request_id]} | <cyan>{name}</cyan>:<cyan>{function}</cyan>:<cyan>{line}</cyan> - "
    "<level>{message}</level>"
)

_SANIC_LOGGERS = ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets")


class InterceptHandler(logging.Handler):
    """Hands each stdlib record to loguru, keeping its level and the caller's location."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        # Walk out of the logging module so loguru reports the real caller.
        frame, depth = inspect.currentframe(), 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def _with_request_id(record: dict) -> None:
    record["extra"].setdefault("request_id", current_request_id.get())


def configure_logging(level: str = "INFO", *, sink: object = None, fmt: str = "text") -> None:
    """Send all logging to loguru at ``level`` (a loguru level name, e.g. ``INFO``).

    ``sink`` defaults to stderr; pass a path or a file to log elsewhere. ``fmt``: ``text`` or
    ``json`` (one object per line, the request id under ``record.extra.request_id``).
    """
    level = level.upper()
    logger.remove()
    logger.configure(patcher=_with_request_id)  # type: ignore[arg-type]
    if fmt == "json":
        logger.add(sink or sys.stderr, level=level, serialize=True, backtrace=False,
                   diagnose=False)
    else:
        logger.add(sink or sys.stderr, level=level, format=TEXT_FORMAT, backtrace=False,
                   diagnose=False)
    # TRACE and SUCCESS are loguru-only levels; stdlib loggers get the nearest one.
    std_level = logging.getLevelName(level) if level in logging._nameToLevel else logging.INFO
    if level == "TRACE":
        std_level = logging.DEBUG
    logging.basicConfig(handlers=[InterceptHandler()], level=std_level, force=True)
    for name in _SANIC_LOGGERS:
        std = logging.getLogger(name)
        std.handlers = [InterceptHandler()]
        std.propagate = False
        std.setLevel(std_level)
