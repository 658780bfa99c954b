"""Render the user unit ``mlx-serve.service`` from a ServiceDefinition."""

from __future__ import annotations

from mlx_serve.domain.ports import ServiceDefinition

UNIT_NAME = "mlx-serve.service"


def _escape(value: str) -> str:
    # '%' starts a specifier in every unit setting; '\' and '"' are quoting characters.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def _exec_word(arg: str) -> str:
    # ExecStart also expands $VAR: '$$' is a literal dollar. Quote words with spaces.
    word = _escape(arg).replace("$", "$$")
    return f'"{word}"' if any(c.isspace() for c in arg) or not arg else word


def render_unit(definition: ServiceDefinition) -> str:
    """The unit file's text. Restart on failure only: a stop or a clean exit stays stopped."""
    environment = " ".join(
        f'"{_escape(key)}={_escape(value)}"'
        for key, value in sorted(definition.environment.items())
    )
    log = _escape(str(definition.log_file))
    return "\n".join(
        [
            "# Written by `mlx-serve service install`; removed by `mlx-serve service uninstall`.",
            "[Unit]",
            "Description=mlx-serve embedding and reranking server",
            "",
            "[Service]",
            "Type=exec",
            "ExecStart=" + " ".join(_exec_word(arg) for arg in definition.program),
            f"WorkingDirectory={_escape(str(definition.working_directory))}",
            f"Environment={environment}",
            f"StandardOutput=append:{log}",
            f"StandardError=append:{log}",
            "Restart=on-failure",
            "RestartSec=2",
            # SIGTERM to the server only; it drains requests in flight, then exits 0.
            "KillMode=mixed",
            "KillSignal=SIGTERM",
            f"TimeoutStopSec={definition.stop_timeout_seconds}",
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ]
    )
