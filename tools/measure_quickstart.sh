#!/usr/bin/env bash
# Measure the README's quick start as a new user meets it: a clean clone of this checkout's
# HEAD, no pip cache, an empty MLX kernel cache; prints the seconds until /health answers,
# the first three requests' times and the size of the .venv it made. Stops the server by PID.
# Usage: bash tools/measure_quickstart.sh [WORKDIR]   (default /tmp/mlx-serve-quickstart)
set -u
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/mlx-serve-quickstart}
PORT=18123
rm -rf "$WORK" && mkdir -p "$WORK" && git clone -q . "$WORK/repo" || exit 1
export MLX_SERVE_HOME="$WORK/home" PIP_NO_CACHE_DIR=1 TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
cd "$WORK/repo"
start=$(date +%s)
bash tools/quickstart.sh --port "$PORT" > "$WORK/quickstart.log" 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do
  sleep 1
  if ! kill -0 "$pid" 2>/dev/null; then echo "the quick start failed:"; tail -20 "$WORK/quickstart.log"; exit 1; fi
  if [ $(( $(date +%s) - start )) -gt 1800 ]; then echo "no answer in 30 min"; kill "$pid"; exit 1; fi
done
echo "/health answered $(( $(date +%s) - start )) s after the start"
for i in 1 2 3; do
  curl -s -o /dev/null -w "request $i: %{time_total} s\n" "http://127.0.0.1:$PORT/v1/embeddings" \
    -H "Content-Type: application/json" \
    -d '{"model": "all-MiniLM-L6-v2", "input": ["Hello world", "How are you?"]}'
done
packages=$(.venv/bin/python -m pip list --disable-pip-version-check 2>/dev/null | tail -n +3 | wc -l)
echo ".venv: $(du -sm .venv | cut -f1) MB, $packages packages"
kill -TERM "$pid"; wait "$pid"
