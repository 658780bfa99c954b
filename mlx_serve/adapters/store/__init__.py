"""Installed models on the local filesystem, and local directories as a model source."""

from mlx_serve.adapters.store.filesystem_store import METADATA_FILE, FilesystemModelStore
from mlx_serve.adapters.store.local_repository import LocalDirectoryRepository

__all__ = ["METADATA_FILE", "FilesystemModelStore", "LocalDirectoryRepository"]
