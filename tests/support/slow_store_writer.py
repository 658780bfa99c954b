"""Another process pulling into a shared models directory, slowly, through the real store.

``python -m tests.support.slow_store_writer MODELS_DIR SOURCE COUNT`` publishes COUNT copies
of the installed model SOURCE as ``SOURCE-copy-0`` ... with FilesystemModelStore, exactly as a
pull's last step does: build in staging, then commit. Files are copied in small chunks with
pauses, so for a long while the staging directory holds a half-written model; a store that
were not atomic would let a reader list or load it. Prints one line per published copy.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from mlx_serve.adapters.store.filesystem_store import METADATA_FILE, FilesystemModelStore

CHUNK_BYTES = 4 * 1024 * 1024
PAUSE_SECONDS = 0.02


def slow_copy(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` a chunk at a time, pausing between chunks."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(CHUNK_BYTES):
            dst.write(chunk)
            dst.flush()
            time.sleep(PAUSE_SECONDS)


def publish_copy(store: FilesystemModelStore, source_name: str, name: str) -> None:
    source = store.get(source_name)
    assert source.path is not None
    staging = store.staging_directory(name)
    for file in sorted(source.path.rglob("*")):
        relative = file.relative_to(source.path)
        if file.is_dir() or relative.name == METADATA_FILE:
            continue
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        slow_copy(file, staging / relative)
    store.commit(staging, dataclasses.replace(source, name=name, aliases=()))


def main() -> int:
    models_dir, source_name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    store = FilesystemModelStore(models_dir)
    for index in range(count):
        name = f"{source_name}-copy-{index}"
        publish_copy(store, source_name, name)
        print(f"published {name}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
