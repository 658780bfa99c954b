"""Drive argcomplete through its environment protocol, as a shell does on TAB."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
IFS = "\013"  # argcomplete's default separator between candidates


def complete(line: str, env: dict[str, str] | None = None, *, timeout: float = 60) -> list[str]:
    """Candidates argcomplete offers for the command line ``line`` (cursor at its end)."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
        environment = dict(env if env is not None else os.environ)
        environment.update(
            _ARGCOMPLETE="1",
            _ARGCOMPLETE_IFS=IFS,
            _ARGCOMPLETE_STDOUT_FILENAME=out.name,
            COMP_LINE=line,
            COMP_POINT=str(len(line)),
            COMP_TYPE="9",
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(REPO_ROOT), env and env.get("PYTHONPATH")])
            ),
        )
        result = subprocess.run(
            [sys.executable, "-m", "mlx_serve"],
            env=environment,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        text = Path(out.name).read_text()
    return sorted(word.strip() for word in text.split(IFS) if word.strip())
