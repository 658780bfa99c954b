"""`mlx-serve start` (background half), `status` and `stop`: servers managed by PID file.

The foreground server is `start --foreground` (commands/start.py); the background start
spawns exactly that command, detached, and waits for its /health.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlx_serve.application.lifecycle import Instance, ServerLifecycle
    from mlx_serve.entrypoints.cli.context import CliContext

EXIT_NOT_RUNNING = 3  # LSB: "program is not running"
START_TIMEOUT_SECONDS = 120.0
# Added to the server's own drain time before stop gives up waiting and sends SIGKILL.
STOP_MARGIN_SECONDS = 15.0


def register(subparsers: argparse._SubParsersAction) -> None:
    status = subparsers.add_parser(
        "status",
        help="show running servers",
        description="Show mlx-serve servers: PID, URL, uptime, version, loaded models. "
        "Exit status 0 when running, 3 when not.",
    )
    status.add_argument("--port", type=int, help="only the server on this port")
    status.set_defaults(handler=run_status, settings_overrides=_port_override, quick=True)

    stop = subparsers.add_parser(
        "stop",
        help="stop a background server",
        description="Stop a server started with `mlx-serve start`: SIGTERM, wait for the "
        "requests in flight to finish, SIGKILL only with --force or after a bounded wait.",
    )
    stop.add_argument("--port", type=int, help="the server on this port")
    stop.add_argument("--all", dest="all_", action="store_true", help="stop every server")
    stop.add_argument("--force", action="store_true", help="SIGKILL at once (no drain)")
    stop.add_argument("--timeout", type=float, help="seconds to wait for the drain before SIGKILL")
    stop.set_defaults(handler=run_stop, quick=True)


def _port_override(args: argparse.Namespace) -> dict:
    return {"port": args.port}


def _lifecycle(context: CliContext) -> ServerLifecycle:
    from mlx_serve.domain.errors import MlxServeError

    if context.lifecycle is None:
        raise MlxServeError("server lifecycle management is not wired into this build")
    return context.lifecycle


def run_background(args: argparse.Namespace, context: CliContext) -> int:
    """Spawn `start --foreground` detached; print URL, PID and log; 0 once /health is ok."""
    import os

    from mlx_serve.application.lifecycle import LifecycleError

    settings = context.settings
    argv = [sys.executable, "-m", "mlx_serve", "start", "--foreground"]
    argv += ["--host", settings.host, "--port", str(settings.port)]
    if settings.preload_models:
        argv += ["--preload", ",".join(settings.preload_models)]
    env = dict(os.environ)
    env["MLX_SERVE_HOME"] = str(settings.home)  # the child must use the same PID/log dirs
    try:
        instance = _lifecycle(context).start(
            host=settings.host,
            port=settings.port,
            argv=argv,
            env=env,
            timeout=getattr(args, "timeout", None) or START_TIMEOUT_SECONDS,
        )
    except LifecycleError as exc:
        _print_error(exc.message, exc.log_tail)
        return 1
    assert instance.record is not None
    print(f"mlx-serve is running at {instance.url} (PID {instance.pid})")
    print(f"log: {instance.record.log_file}")
    return 0


def run_status(args: argparse.Namespace, context: CliContext) -> int:
    instances = _lifecycle(context).instances(
        args.port, probe_ports=[] if args.port is not None else [context.settings.port]
    )
    if not instances:
        where = f" on port {args.port}" if args.port is not None else ""
        print(f"mlx-serve is not running{where}")
        return EXIT_NOT_RUNNING
    for index, instance in enumerate(instances):
        if index:
            print()
        _print_instance(instance)
    return 0


def run_stop(args: argparse.Namespace, context: CliContext) -> int:
    lifecycle = _lifecycle(context)
    settings = context.settings
    # A stopping server first drains (MLX_SERVE_DRAIN_SECONDS), then finishes its requests.
    stopping = settings.drain_seconds + settings.graceful_timeout_seconds
    timeout = args.timeout or stopping + STOP_MARGIN_SECONDS
    outcomes = lifecycle.stop(port=args.port, all_=args.all_, force=args.force, timeout=timeout)
    if not outcomes:
        if args.port is not None and lifecycle.instances(args.port):
            _print_error(
                f"the mlx-serve on port {args.port} was not started with `mlx-serve start` "
                "(no PID file); stop it where it runs (Ctrl-C or `mlx-serve service stop`)"
            )
            return 1
        where = f" on port {args.port}" if args.port is not None else ""
        print(f"mlx-serve is not running{where}")
        return 0
    code = 0
    for outcome in outcomes:
        how = "killed" if outcome.killed else "stopped"
        if outcome.exited:
            print(f"{how} mlx-serve on port {outcome.port} (PID {outcome.pid})")
        else:
            _print_error(f"mlx-serve on port {outcome.port} (PID {outcome.pid}) did not exit")
            code = 1
    return code


def _print_instance(instance: Instance) -> None:
    health = instance.health.body if instance.health else {}
    state = health.get("status", "not answering")
    print(f"mlx-serve is running on port {instance.port} ({state})")
    print(f"  PID:     {instance.pid if instance.pid is not None else '- (no PID file)'}")
    print(f"  URL:     {instance.url}")
    if instance.uptime_seconds is not None:
        print(f"  uptime:  {_duration(instance.uptime_seconds)}")
    print(f"  version: {health.get('version', '-')}")
    models = [
        m.get("name", "?") if isinstance(m, dict) else str(m)
        for m in health.get("models_loaded", [])
    ]
    print(f"  models:  {', '.join(models) if models else '(none loaded)'}")
    if instance.record is not None:
        print(f"  log:     {instance.record.log_file}")


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s"


def _print_error(message: str, log_tail: list[str] | None = None) -> None:
    from mlx_serve.entrypoints.cli.output import error, printable

    error(message)
    if log_tail:
        print("last lines of the log:", file=sys.stderr)
        for line in log_tail:
            print(f"  {printable(line)}", file=sys.stderr)
