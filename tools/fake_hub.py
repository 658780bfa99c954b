"""A local stand-in for the Hugging Face Hub, for tests and offline demos.

It speaks the subset of the Hub's HTTP API that the real ``huggingface_hub`` client (2.x)
calls when it downloads a model, so that tests can point ``HF_ENDPOINT`` at it:

- ``GET /api/models/{repo}[/revision/{rev}]``: model info (``sha``, ``siblings`` with sizes and
  LFS data, ``gated``);
- ``GET /api/models/{repo}/tree/{rev}[/{path}]``, ``POST /api/models/{repo}/paths-info/{rev}``,
  ``GET /api/models/{repo}/refs``: listings;
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}``: ``ETag``, ``X-Repo-Commit``, ``Content-Length``;
  ``Range: bytes=N-`` answers 206.

Errors carry the ``X-Error-Code`` header the client maps to its exceptions. No Xet headers are
ever sent, so the client downloads over plain HTTP. Fault knobs (``hub.faults``) cover retries,
resume and kill-in-the-middle: the next N requests fail with 503 and ``Retry-After``, the next
file download is cut after K bytes, downloads are throttled to B bytes/s.

Use it from tests as a context manager::

    with FakeHub() as hub:
        hub.add_repo("org/tiny", tiny_dir)
        os.environ["HF_ENDPOINT"] = hub.url

or as a script: ``python tools/fake_hub.py org/tiny=/path/to/checkpoint --port 8765``.
"""

from __future__ import annotations

import argparse
import hashlib
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

try:  # imported as ``tools.fake_hub`` from tests, or run as a script from tools/
    from tools.fake_hub_handler import HubRequestHandler
except ImportError:  # pragma: no cover - script mode
    from fake_hub_handler import HubRequestHandler  # type: ignore[no-redef]


@dataclass
class HubFile:
    """One file of one revision: its bytes live on disk, its hashes are computed once."""

    path: str
    local: Path
    size: int
    git_sha1: str
    sha256: str

    @property
    def is_lfs(self) -> bool:
        # The real Hub stores weights in LFS; its ETag for them is the sha256 of the content.
        return self.path.endswith((".safetensors", ".bin", ".onnx", ".gguf", ".npz"))

    @property
    def etag(self) -> str:
        return self.sha256 if self.is_lfs else self.git_sha1

    def sibling(self) -> dict:
        data: dict = {"rfilename": self.path, "size": self.size, "blobId": self.git_sha1}
        if self.is_lfs:
            data["lfs"] = {"sha256": self.sha256, "size": self.size, "pointerSize": 134}
        return data

    def tree_entry(self) -> dict:
        data: dict = {"type": "file", "path": self.path, "size": self.size, "oid": self.git_sha1}
        if self.is_lfs:
            data["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": 134}
        return data


@dataclass
class HubRepo:
    """A repo: commits (sha -> files) and refs (branch or tag -> sha)."""

    repo_id: str
    commits: dict[str, dict[str, HubFile]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    gated: bool = False
    token: str | None = None

    def resolve(self, revision: str) -> str | None:
        """The commit sha a branch, tag or (full) sha names, or None."""
        if revision in self.commits:
            return revision
        return self.refs.get(revision)


@dataclass
class Faults:
    """Failures the hub injects; tests set them, the handler consumes them (thread-safe)."""

    fail_next: int = 0
    fail_status: int = 503
    retry_after: int = 0
    fail_only_downloads: bool = False
    cut_after_bytes: int | None = None
    throttle_bytes_per_second: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take_failure(self, is_download: bool) -> int | None:
        """The status to fail this request with, or None to serve it."""
        with self.lock:
            if self.fail_next <= 0 or (self.fail_only_downloads and not is_download):
                return None
            self.fail_next -= 1
            return self.fail_status

    def take_cut(self, size: int) -> int | None:
        """Bytes after which to cut this download of ``size`` bytes, or None.

        Only a download longer than the cut consumes it, so small files before the weights
        do not use the one cut up.
        """
        with self.lock:
            cut = self.cut_after_bytes
            if cut is None or cut >= size:
                return None
            self.cut_after_bytes = None
            return cut


def _hash_file(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return git, hashlib.sha256(data).hexdigest()


class FakeHub:
    """The stand-in server: a threaded ``http.server`` on 127.0.0.1, port 0 by default."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.faults = Faults()
        # (method, path, status, range header) of every request served, for assertions.
        self.requests: list[tuple[str, str, int, str | None]] = []
        self._server = ThreadingHTTPServer((host, port), HubRequestHandler)
        self._server.daemon_threads = True
        self._server.hub = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_repo(
        self,
        repo_id: str,
        directory: Path | str,
        *,
        branch: str = "main",
        tags: tuple[str, ...] = (),
        gated: bool = False,
        token: str | None = None,
    ) -> str:
        """Publish ``directory`` as a new commit of ``repo_id`` on ``branch``; returns its sha.

        Calling it again for the same repo adds another commit (a new revision) and moves the
        branch to it. A gated repo serves files only to ``Authorization: Bearer <token>``.
        """
        root = Path(directory)
        files: dict[str, HubFile] = {}
        digest = hashlib.sha1(repo_id.encode())
        for local in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = local.relative_to(root).as_posix()
            if rel.startswith(".cache/"):
                continue
            git, sha256 = _hash_file(local)
            files[rel] = HubFile(rel, local, local.stat().st_size, git, sha256)
            digest.update(f"{rel}:{git}".encode())
        repo = self.repos.setdefault(repo_id, HubRepo(repo_id))
        digest.update(str(len(repo.commits)).encode())
        sha = digest.hexdigest()
        repo.commits[sha] = files
        repo.refs[branch] = sha
        for tag in tags:
            repo.refs[tag] = sha
        repo.gated = repo.gated or gated
        repo.token = token or repo.token
        return sha

    def count(self, method: str | None = None, status: int | None = None) -> int:
        """How many requests were served, optionally only those of one method or status."""
        return sum(
            1
            for m, _, s, _ in list(self.requests)
            if (method is None or m == method) and (status is None or s == status)
        )

    def start(self) -> FakeHub:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve local checkpoints as a fake HF Hub.")
    parser.add_argument("repos", nargs="+", metavar="ORG/NAME=DIR")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--gated-token", help="gate every repo behind this token")
    parser.add_argument("--throttle", type=int, help="bytes per second per download")
    args = parser.parse_args(argv)
    hub = FakeHub(port=args.port)
    hub.faults.throttle_bytes_per_second = args.throttle
    for spec in args.repos:
        repo_id, _, directory = spec.partition("=")
        sha = hub.add_repo(
            repo_id, directory, gated=bool(args.gated_token), token=args.gated_token
        )
        print(f"{repo_id} @ {sha} <- {directory}")
    print(f"HF_ENDPOINT={hub.url}", flush=True)
    hub.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":
    main()
