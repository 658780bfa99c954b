"""ModelRepository for checkpoints already on local disk (a Hugging Face layout directory)."""

from __future__ import annotations

from pathlib import Path

from mlx_serve.domain.errors import PullError
from mlx_serve.domain.ports import FetchedCheckpoint, ProgressCallback

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "model*.bin")


class LocalDirectoryRepository:
    """Sources that are existing directories: nothing to download, only to check."""

    accepts = "a model directory on this machine"

    def handles(self, source: str) -> bool:
        """Whether ``source`` is an existing directory."""
        try:
            return Path(source).expanduser().is_dir()
        except (OSError, ValueError):  # ValueError: embedded NUL
            return False

    def fetch(
        self, source: str, revision: str | None, progress: ProgressCallback
    ) -> FetchedCheckpoint:
        """The directory itself, after checking it holds ``config.json`` and weights.

        ``revision`` does not apply to a directory and is ignored. Raises PullError naming
        what is missing.
        """
        directory = Path(source).expanduser().resolve()
        if not directory.is_dir():
            raise PullError(f"'{source}' is not a directory")
        missing = []
        if not (directory / "config.json").is_file():
            missing.append("config.json")
        if not any(any(directory.glob(pattern)) for pattern in WEIGHT_PATTERNS):
            missing.append("weights (*.safetensors or pytorch_model*.bin)")
        if missing:
            raise PullError(
                f"'{directory}' is not a Hugging Face model directory: missing "
                + " and ".join(missing)
            )
        return FetchedCheckpoint(directory=directory, source=str(directory), revision=None)
