"""`mlx-serve service install|uninstall|start|stop|status|enable|disable`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlx_serve.application.service_control import ServiceControl
    from mlx_serve.entrypoints.cli.context import CliContext

ACTIONS = {
    "install": "install the user service (launchd on macOS, systemd on Linux)",
    "uninstall": "stop the service and remove everything install created",
    "start": "start the service now",
    "stop": "stop the service (requests in flight finish first)",
    "status": "show whether the service is installed, enabled and running",
    "enable": "start the service at login",
    "disable": "do not start the service at login",
}
EXIT_NOT_RUNNING = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "service",
        help="run mlx-serve as a user service",
        description="Manage mlx-serve as a per-user service: a LaunchAgent on macOS, a "
        "systemd user unit on Linux. Logs go to $MLX_SERVE_HOME/logs.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in ACTIONS.items():
        actions.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
    parser.set_defaults(handler=run)


def _control(context: CliContext) -> ServiceControl:
    from mlx_serve.domain.errors import ServiceError

    if context.service_control is None:
        raise ServiceError("service management is not wired into this build")
    return context.service_control


def run(args: argparse.Namespace, context: CliContext) -> int:
    control = _control(context)
    action = args.action
    if action == "install":
        path = control.install()
        print(f"installed the service: {path}")
        print(
            "start it with `mlx-serve service start`; start it at login with "
            "`mlx-serve service enable`"
        )
    elif action == "uninstall":
        print("removed the service" if control.uninstall() else "the service was not installed")
    elif action == "status":
        status = control.status()
        if not status.installed:
            print("the service is not installed")
            return EXIT_NOT_RUNNING
        print(
            f"service: {'running' if status.running else 'stopped'}, "
            f"{'enabled' if status.enabled else 'disabled'} at login"
        )
        if status.detail:
            print(f"  {status.detail}")
        return 0 if status.running else EXIT_NOT_RUNNING
    else:
        getattr(control, action)()
        done = {"start": "started", "stop": "stopped", "enable": "enabled", "disable": "disabled"}
        print(f"{done[action]} the service")
    return 0
