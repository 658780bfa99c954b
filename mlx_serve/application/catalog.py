"""The model catalog: which models are installed, what a name refers to, pull and remove.

Blocking (file I/O, downloads, conversion): async callers run it in a worker thread.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence

from mlx_serve.application.aliases import UserAlias, merge_aliases
from mlx_serve.application.disk_space import disk_full_error, is_disk_full
from mlx_serve.application.installing import conversion_options, default_name, model_info
from mlx_serve.domain.errors import (
    InvalidModelName,
    ModelAlreadyExists,
    ModelNotFound,
    PullError,
)
from mlx_serve.domain.models import ModelInfo, ModelType
from mlx_serve.domain.names import validate_model_name, validate_model_reference
from mlx_serve.domain.ports import (
    ConversionOptions,
    FetchedCheckpoint,
    ModelConverter,
    ModelRepository,
    ModelStore,
    ProgressCallback,
    PullProgress,
)


class ModelCatalog:
    """Installed models addressed by name, repo id or alias (all case-insensitive)."""

    def __init__(
        self,
        store: ModelStore,
        repositories: Sequence[ModelRepository],
        converter: ModelConverter,
        aliases: Mapping[str, UserAlias] | None = None,
        *,
        quantize_group_size: int = 64,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._repositories = list(repositories)
        self._converter = converter
        self._aliases = merge_aliases(aliases)
        self._group_size = quantize_group_size
        self._now = now

    def list(self) -> list[ModelInfo]:
        """Every installed model, sorted by name."""
        return self._store.list()

    def resolve(self, ref: str) -> ModelInfo:
        """The installed model ``ref`` names: its name, the repo id it came from, or an alias.

        Raises InvalidModelName for a reference that could escape the store, ModelNotFound
        when nothing installed answers to it.
        """
        validate_model_reference(ref)
        models = self._store.list()
        key = ref.casefold()
        found = (
            _first(models, lambda m: m.name == ref)
            or _first(models, lambda m: m.name.casefold() == key)
            or _first(models, lambda m: _answers_to(m, key))
        )
        target = self._aliases.get(key)
        if found is None and target is not None:
            target_key = target.casefold()
            basename = target_key.rstrip("/").rsplit("/", 1)[-1]
            found = _first(models, lambda m: _answers_to(m, target_key)) or _first(
                models, lambda m: m.name.casefold() == basename
            )
        if found is None:
            raise ModelNotFound(ref)
        return found

    def show(self, ref: str) -> ModelInfo:
        """All metadata of the model ``ref`` names (same lookup as ``resolve``)."""
        return self.resolve(ref)

    def remove(self, ref: str) -> ModelInfo:
        """Delete the model ``ref`` names; returns what was removed."""
        info = self.resolve(ref)
        self._store.remove(info.name)
        return info

    def pull(
        self,
        source: str,
        *,
        model_type: ModelType | str | None = None,
        name: str | None = None,
        dtype: str | None = None,
        quantize: int | None = None,
        revision: str | None = None,
        force: bool = False,
        keep_original: bool = False,
        progress: ProgressCallback | None = None,
    ) -> ModelInfo:
        """Fetch ``source`` (a directory, a repo id or an alias), convert it and install it.

        Raises ModelAlreadyExists when the name is taken and ``force`` is false (checked
        before downloading when the name is known), PullError / UnsupportedModel /
        InvalidRequest for sources that cannot be installed. Nothing is left behind on failure.
        """
        report = progress or (lambda _event: None)
        options = conversion_options(model_type, dtype, quantize, self._group_size)
        if name is not None:
            validate_model_name(name, param="name")
            self._check_free(name, force)
        source = self._aliases.get(source.casefold(), source) if isinstance(source, str) else source
        repository = self._repository_for(source)
        if name is None and not force:
            # Refuse a re-pull before downloading gigabytes: the default name is the
            # source's basename, known now for repo ids and plain directory paths.
            expected = _basename_or_none(source)
            if expected is not None:
                self._check_free(expected, force)
        report(PullProgress("pulling manifest"))
        installed_before = {m.name.casefold() for m in self._store.list()}
        checkpoint = repository.fetch(source, revision, report)
        try:
            name = name or default_name(checkpoint.source)
            try:
                info, replaced = self._install(
                    checkpoint, name, options, force=force, keep_original=keep_original,
                    report=report,
                )
            except ModelAlreadyExists:
                # Another pull of the same checkpoint (a CLI pull beside the server) shared
                # our download and installed it first: its result is ours.
                shared = self._installed_meanwhile(name, checkpoint, installed_before)
                if shared is None:
                    raise
                report(PullProgress("success"))
                return shared
            except OSError as exc:
                # Staging is already discarded and the download goes in the finally below.
                if is_disk_full(exc):
                    raise disk_full_error(
                        checkpoint.source, "converting", checkpoint.directory
                    ) from exc
                raise
        finally:
            # Releases (and, when no other pull shares it, deletes) the download, so the
            # original checkpoint is not kept beside the converted model.
            if checkpoint.cleanup is not None:
                checkpoint.cleanup()
        # The same name spelled in another case is replaced too. On a case-insensitive
        # filesystem the commit already did that, and removing it would remove the new model.
        if (
            replaced is not None
            and replaced.name != info.name
            and any(m.name == replaced.name for m in self._store.list())
        ):
            self._store.remove(replaced.name)
        report(PullProgress("success"))
        return info

    def _repository_for(self, source: str) -> ModelRepository:
        if not isinstance(source, str) or _has_control_chars(source):
            raise InvalidModelName("model source contains control characters", param="model")
        for repository in self._repositories:
            if repository.handles(source):
                return repository
        try:
            validate_model_reference(source)
        except InvalidModelName:
            raise InvalidModelName(
                f"'{source}' is neither a model directory nor a Hugging Face repo id",
                param="model",
            ) from None
        if self._repositories:
            # Every source we know refused the name's shape: the name is the problem.
            raise InvalidModelName(
                f"cannot pull '{source}': it is not "
                + " nor ".join(r.accepts for r in self._repositories),
                param="model",
            )
        raise PullError(f"cannot pull '{source}': no model source is configured", status=404)

    def _install(
        self,
        checkpoint: FetchedCheckpoint,
        name: str,
        options: ConversionOptions,
        *,
        force: bool,
        keep_original: bool,
        report: ProgressCallback,
    ) -> tuple[ModelInfo, ModelInfo | None]:
        """Convert into staging and publish as ``name``; returns it and what it replaced."""
        replaced = self._check_free(name, force)
        staging = self._store.staging_directory(name)
        try:
            report(PullProgress("converting"))
            metadata = self._converter.convert(checkpoint, staging, options)
            if keep_original:
                self._store.include_original(staging, checkpoint.directory)
            report(PullProgress("verifying"))
            info = model_info(name, checkpoint, metadata, created=self._now())
            report(PullProgress("writing manifest"))
            return self._store.commit(staging, info, replace=force), replaced
        except BaseException:
            self._store.discard(staging)
            raise

    def _installed_meanwhile(
        self, name: str, checkpoint: FetchedCheckpoint, installed_before: set[str]
    ) -> ModelInfo | None:
        """The model ``name`` if it appeared during this pull from the same source and
        revision; None otherwise."""
        if name.casefold() in installed_before:
            return None
        found = _first(self._store.list(), lambda m: m.name.casefold() == name.casefold())
        if found is None or found.source != checkpoint.source:
            return None
        return found if found.revision == checkpoint.revision else None

    def _check_free(self, name: str, force: bool) -> ModelInfo | None:
        """The installed model ``name`` would replace (any case); raises unless ``force``."""
        key = name.casefold()
        existing = _first(self._store.list(), lambda m: m.name.casefold() == key)
        if existing is not None and not force:
            raise ModelAlreadyExists(
                f"model '{existing.name}' is already installed (pull with --force, or "
                '"force": true over HTTP, to replace it)'
            )
        return existing


def _first(models: list[ModelInfo], predicate: Callable[[ModelInfo], bool]) -> ModelInfo | None:
    return next((m for m in models if predicate(m)), None)


def _answers_to(model: ModelInfo, key: str) -> bool:
    """Whether ``key`` (case-folded) is the model's source repo id or one of its aliases."""
    return model.source.casefold() == key or any(a.casefold() == key for a in model.aliases)


def _basename_or_none(source: str) -> str | None:
    try:
        return default_name(source)
    except InvalidModelName:
        return None


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") for ch in text)
