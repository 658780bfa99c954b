"""Ports: what the application needs from the outside world, as typing.Protocols.

Adapters implement them; the composition root (``mlx_serve.bootstrap``) picks which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mlx_serve.domain.inference import (
    EmbedRequest,
    EmbedResult,
    RerankRequest,
    RerankResult,
    TokenizeResult,
)
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.prompts import ModelPrompts


class LoadedEmbeddingModel(Protocol):
    """One embedding model resident in memory."""

    info: ModelInfo

    async def embed(self, request: EmbedRequest) -> EmbedResult:
        """Embed ``request.inputs`` and return one vector per input, in request order.

        Runs on the engine's own compute thread; awaiting never blocks the event loop.
        Vectors are float32; normalised as the model's recipe says; when
        ``request.dimensions`` is set, cut to that many components and L2-normalised again.
        Raises InputTooLong (``truncate=False`` and an input over the model's maximum, with
        ``param`` naming it) and InvalidRequest (token ids outside the vocabulary).
        """
        ...

    async def tokenize(self, texts: list[str]) -> TokenizeResult:
        """Token ids of each text exactly as ``embed`` would feed them (special tokens included)."""
        ...

    @property
    def prompts(self) -> ModelPrompts:
        """The prompts the model's checkpoint declares (empty when it has none)."""
        ...

    @property
    def memory_bytes(self) -> int:
        """Bytes of weights held in memory by this model."""
        ...


class LoadedReranker(Protocol):
    """One reranking model resident in memory."""

    info: ModelInfo

    async def rerank(self, request: RerankRequest) -> RerankResult:
        """Score every document against the query: relevance in [0, 1], in request order.

        Runs on the engine's compute thread. Documents are truncated to
        ``max_tokens_per_doc`` and the pair to the model's maximum; ``truncated_documents``
        counts those cut. Raises InvalidRequest for inputs the model cannot take.
        """
        ...

    @property
    def memory_bytes(self) -> int:
        """Bytes of weights held in memory by this model."""
        ...


class EmbeddingEngine(Protocol):
    """Loads embedding models (MLX in production, a fake in unit tests)."""

    async def load(self, model: ModelInfo) -> LoadedEmbeddingModel:
        """Load the model's files into memory; raises ModelLoadError when they are unusable.

        Runs on the engine's compute thread and may take seconds.
        """
        ...

    async def unload(self, model: LoadedEmbeddingModel) -> None:
        """Drop the model and return its memory to the system (clears MLX's buffer cache)."""
        ...


class Reranker(Protocol):
    """Loads reranking models."""

    async def load(self, model: ModelInfo) -> LoadedReranker:
        """Load the model's files into memory; raises ModelLoadError when they are unusable."""
        ...

    async def unload(self, model: LoadedReranker) -> None:
        """Drop the model and return its memory to the system."""
        ...


@dataclass(frozen=True)
class PullProgress:
    """One progress event of a pull: ``status`` as Ollama words it, bytes where known."""

    status: str
    file: str | None = None
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


ProgressCallback = Callable[[PullProgress], None]


@dataclass(frozen=True)
class FetchedCheckpoint:
    """A checkpoint in Hugging Face layout, on local disk, ready to convert.

    ``cleanup``, when set, must be called once the checkpoint's files are no longer needed
    (after conversion, whether it succeeded or not): it releases the download (and deletes
    it when no other pull still uses it).
    """

    directory: Path
    source: str
    revision: str | None
    cleanup: Callable[[], None] | None = field(default=None, compare=False, repr=False)


class ModelRepository(Protocol):
    """A place checkpoints come from: a local directory, or the Hugging Face Hub."""

    # What sources it takes, for the error when none takes a name ("a model directory on
    # this machine"); completes "cannot pull 'x': it is not ...".
    accepts: str

    def handles(self, source: str) -> bool:
        """Whether this repository can fetch ``source`` (a directory path, a repo id)."""
        ...

    def fetch(
        self, source: str, revision: str | None, progress: ProgressCallback
    ) -> FetchedCheckpoint:
        """Make the checkpoint's files available locally and return where they are.

        Blocking (call it off the event loop). Reports byte progress through ``progress``.
        Raises PullError with a final message when retrying cannot help (unknown repo,
        gated repo, no weights); transient failures are retried inside.
        """
        ...


@dataclass(frozen=True)
class ConversionOptions:
    model_type: ModelType | None = None
    dtype: str | None = None
    quantize_bits: int | None = None
    quantize_group_size: int = 64


class ModelConverter(Protocol):
    """Turns a Hugging Face-layout checkpoint into the files the engines load."""

    def convert(
        self, checkpoint: FetchedCheckpoint, destination: Path, options: ConversionOptions
    ) -> dict:
        """Write the converted model into ``destination`` (an empty staging directory).

        Blocking. Returns the metadata it determined (type, architecture, dimensions,
        max_length, dtype, quantization). Raises UnsupportedModel for checkpoints it cannot
        serve and InvalidRequest when the type cannot be inferred and was not given.
        """
        ...


class ModelStore(Protocol):
    """Installed models on disk: ``<models_dir>/<name>/`` with one metadata file each."""

    def list(self) -> list[ModelInfo]:
        """Every fully installed model, sorted by name. Staging data is never listed."""
        ...

    def get(self, name: str) -> ModelInfo:
        """The model called ``name`` (exact installed name); raises ModelNotFound."""
        ...

    def staging_directory(self, name: str) -> Path:
        """A fresh, empty directory to build a model in, on the store's filesystem."""
        ...

    def include_original(self, staging: Path, checkpoint: Path) -> None:
        """Copy the original checkpoint's files into ``<staging>/original/`` (--keep-original)."""
        ...

    def commit(self, staging: Path, info: ModelInfo, *, replace: bool = False) -> ModelInfo:
        """Atomically publish a staged model under ``info.name`` (rename).

        Returns the info as recorded: ``size_bytes`` measured on the published files, ``path``
        set. Raises ModelAlreadyExists when the name is taken and ``replace`` is false.
        """
        ...

    def remove(self, name: str) -> None:
        """Delete the model atomically (rename away, then delete); raises ModelNotFound."""
        ...

    def discard(self, staging: Path) -> None:
        """Delete a staging directory that will not be committed."""
        ...


@dataclass(frozen=True)
class ServiceStatus:
    installed: bool
    enabled: bool
    running: bool
    detail: str = ""


class ServiceManager(Protocol):
    """The operating system's user service manager (launchd on macOS, systemd on Linux)."""

    def install(self) -> Path:
        """Write the unit/plist (idempotent) and register it; returns the file written.

        Raises ServiceError when the service manager is unavailable.
        """
        ...

    def uninstall(self) -> None:
        """Stop the service and remove everything ``install`` created."""
        ...

    def start(self) -> None:
        """Start the installed service now."""
        ...

    def stop(self) -> None:
        """Stop the service (the server drains requests in flight first)."""
        ...

    def enable(self) -> None:
        """Start the service at login."""
        ...

    def disable(self) -> None:
        """Do not start the service at login."""
        ...

    def status(self) -> ServiceStatus:
        """Whether the service is installed, enabled and running."""
        ...


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def wall(self) -> float:
        """Seconds since the Unix epoch (for timestamps shown to people, e.g. expiry)."""
        ...


@dataclass(frozen=True)
class ServerRecord:
    """One background server, as its PID file under ``$MLX_SERVE_HOME/run`` records it."""

    pid: int
    host: str
    port: int
    started_at: float  # Unix seconds
    # The OS's start-time token of ``pid`` when it was spawned. A PID whose token differs now
    # was reused by another program and must never be signalled.
    process_start: str
    log_file: Path


@dataclass(frozen=True)
class HealthProbe:
    """What ``GET /health`` answered: its status code and JSON body."""

    status_code: int
    body: dict


class ProcessControl(Protocol):
    """Operating-system processes and ports, for starting and stopping background servers.

    Blocking calls; each returns within about a second.
    """

    def spawn(self, argv: list[str], env: dict[str, str], log_file: Path) -> int:
        """Start ``argv`` detached (own session, stdin closed, stdout+stderr appended to
        ``log_file``) and return its PID without waiting for it."""
        ...

    def start_token(self, pid: int) -> str | None:
        """An opaque token of when ``pid`` started; None when no live process has that PID
        (zombies count as gone)."""
        ...

    def command_line(self, pid: int) -> str | None:
        """The process's command line, arguments joined by spaces; None when it is gone."""
        ...

    def signal(self, pid: int, *, kill: bool = False) -> None:
        """Send SIGTERM (or SIGKILL with ``kill``); a process already gone is not an error."""
        ...

    def port_in_use(self, host: str, port: int) -> bool:
        """Whether binding ``host:port`` would fail because something already listens there."""
        ...

    def probe_health(self, host: str, port: int, timeout: float) -> HealthProbe | None:
        """GET ``http://host:port/health``; None when nothing answers HTTP there."""
        ...


class ServerRegistry(Protocol):
    """The PID files of background servers, one per port."""

    def save(self, record: ServerRecord) -> None:
        """Write the record atomically (replace any older one for that port)."""
        ...

    def get(self, port: int) -> ServerRecord | None:
        """The record for ``port``; None when there is none or it cannot be parsed."""
        ...

    def all(self) -> list[ServerRecord]:
        """Every readable record, sorted by port."""
        ...

    def remove(self, port: int) -> None:
        """Delete the record for ``port``; missing is not an error."""
        ...


@dataclass(frozen=True)
class ServiceDefinition:
    """What the OS user service runs: the foreground server, as ``mlx-serve start
    --foreground`` runs it, with the environment it needs (a service starts with almost none)."""

    program: tuple[str, ...]  # argv; program[0] an absolute path (the current interpreter)
    environment: dict[str, str]  # MLX_SERVE_* and PATH
    log_file: Path  # stdout and stderr are appended here
    working_directory: Path
    # Longer than the server's graceful drain, so the manager never kills a draining server.
    stop_timeout_seconds: int


class TokenIdDecoder(Protocol):
    """Turns token ids of a foreign vocabulary (OpenAI's ``cl100k_base``) back into text, so a
    model can embed that text with its own tokenizer."""

    name: str

    def decode(self, ids: Sequence[int]) -> str:
        """The text ``ids`` stand for; raises LookupError (with the bad id as ``token``) for an
        id the vocabulary does not define."""
        ...
