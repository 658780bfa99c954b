"""HTTP request handler of the fake Hub (see ``tools/fake_hub.py``)."""

from __future__ import annotations

import json
import re
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CHUNK = 64 * 1024
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class HubRequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive as the client's pool expects; every answer therefore
    # carries a Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "FakeHub/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the test output stays readable; hub.requests records what happened

    # -- dispatch ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        self.hub = self.server.hub  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        self.query = parse_qs(url.query)
        is_download = len(parts) >= 5 and parts[2] == "resolve"
        status = self.hub.faults.take_failure(is_download)
        if status is not None:
            self._drain_body()
            self._send_error(status, "Overloaded", "the hub is busy", retry=True)
            return
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            self._api(method, parts[2] + "/" + parts[3], parts[4:])
        elif is_download:
            self._resolve(method, parts[0] + "/" + parts[1], parts[3], "/".join(parts[4:]))
        else:
            self._send_error(404, "RepoNotFound", "no such endpoint")

    # -- /api/models ------------------------------------------------------------------------

    def _api(self, method: str, repo_id: str, rest: list[str]) -> None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._drain_body()
            self._send_error(404, "RepoNotFound", f"Repository {repo_id} not found")
            return
        if rest == ["refs"]:
            branches = [{"name": k, "ref": f"refs/heads/{k}", "targetCommit": v}
                        for k, v in repo.refs.items()]
            self._send_json({"branches": branches, "tags": [], "converts": []})
            return
        kind = rest[0] if rest else "revision"
        revision = rest[1] if len(rest) > 1 else "main"
        sha = repo.resolve(revision)
        if sha is None:
            self._drain_body()
            self._send_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        files = repo.commits[sha]
        if kind == "revision":
            self._send_json({
                "id": repo_id, "modelId": repo_id, "sha": sha, "private": False,
                "gated": "manual" if repo.gated else False, "disabled": False,
                "tags": [], "siblings": [f.sibling() for f in files.values()],
            })
        elif kind == "tree":
            prefix = "/".join(rest[2:])
            recursive = self.query.get("recursive", ["false"])[0].lower() == "true"
            self._send_json(_tree(files, prefix, recursive))
        elif kind == "paths-info" and method == "POST":
            wanted = self._read_paths()
            self._send_json([files[p].tree_entry() for p in wanted if p in files])
        else:
            self._send_error(404, "EntryNotFound", "no such endpoint")

    def _read_paths(self) -> list[str]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return list(json.loads(body).get("paths", []))
        return parse_qs(body).get("paths", [])

    # -- /{repo}/resolve/{rev}/{path} -------------------------------------------------------

    def _resolve(self, method: str, repo_id: str, revision: str, path: str) -> None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._send_error(404, "RepoNotFound", f"Repository {repo_id} not found")
            return
        if repo.gated and not self._authorised(repo.token):
            self._send_error(
                401, "GatedRepo", f"Access to model {repo_id} is restricted. "
                "You must have access to it and be authenticated to access it."
            )
            return
        sha = repo.resolve(revision)
        if sha is None:
            self._send_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        hub_file = repo.commits[sha].get(path)
        if hub_file is None:
            self._send_error(404, "EntryNotFound", f"{path} does not exist on {revision}")
            return
        start, end = 0, hub_file.size - 1
        match = _RANGE.match(self.headers.get("Range") or "")
        if match and method == "GET":
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else end
        status = 206 if match and method == "GET" else 200
        self.send_response(status)
        self.send_header("ETag", f'"{hub_file.etag}"')
        self.send_header("X-Repo-Commit", sha)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(max(0, end - start + 1)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{hub_file.size}")
        self.end_headers()
        self._record(method, status)
        if method == "GET":
            self._stream(hub_file.local, start, end)

    def _stream(self, local: Any, start: int, end: int) -> None:
        cut = self.hub.faults.take_cut(end - start + 1)
        rate = self.hub.faults.throttle_bytes_per_second
        chunk = max(1, min(CHUNK, rate // 10)) if rate else CHUNK
        sent = 0
        began = time.monotonic()
        with open(local, "rb") as f:
            f.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                size = min(chunk, remaining)
                if cut is not None:
                    size = min(size, cut - sent)
                    if size <= 0:
                        # Drop the connection mid-body, as a flaky network would.
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                data = f.read(size)
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                    return
                sent += len(data)
                remaining -= len(data)
                if rate:
                    ahead = sent / rate - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)

    # -- helpers ----------------------------------------------------------------------------

    def _authorised(self, token: str | None) -> bool:
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return False
        return token is None or auth.removeprefix("Bearer ") == token

    def _drain_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _record(self, method: str, status: int) -> None:
        self.hub.requests.append((method, self.path, status, self.headers.get("Range")))

    def _send_json(self, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._record(self.command, 200)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, status: int, code: str, message: str, *, retry: bool = False) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        if retry:
            self.send_header("Retry-After", str(self.hub.faults.retry_after))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._record(self.command, status)
        if self.command != "HEAD":
            self.wfile.write(body)


def _tree(files: dict[str, Any], prefix: str, recursive: bool) -> list[dict]:
    """Entries under ``prefix``: files, plus directories when not recursive (as the Hub does)."""
    base = prefix.rstrip("/") + "/" if prefix else ""
    entries: list[dict] = []
    directories: set[str] = set()
    for path, hub_file in files.items():
        if not path.startswith(base):
            continue
        rest = path[len(base):]
        if "/" in rest and not recursive:
            directories.add(base + rest.split("/")[0])
            continue
        entries.append(hub_file.tree_entry())
        if recursive:
            parent = path.rsplit("/", 1)[0] if "/" in rest else None
            while parent and parent.startswith(base.rstrip("/")) and parent != base.rstrip("/"):
                directories.add(parent)
                parent = parent.rsplit("/", 1)[0] if "/" in parent else None
    entries += [{"type": "directory", "path": d, "oid": "0" * 40, "size": 0}
                for d in sorted(directories)]
    return entries
