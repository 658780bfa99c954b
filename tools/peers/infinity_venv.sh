#!/usr/bin/env bash
# Build infinity-emb (the HTTP peer issue 11 names) in its OWN virtual environment.
#
# infinity-emb 0.0.78 pins older transformers/numpy/huggingface_hub than mlx-serve needs, so it
# must never share the project's venv. torch is pinned in the same pip command: without the pin
# pip resolves a multi-GB CUDA build. The `all` extra is avoided on purpose (vision/audio stacks).
#
# Resolved on 2026-12-02 (Python 3.11): infinity-emb 0.0.78, torch 2.13.0+cpu, transformers
# 4.57.6, sentence-transformers 3.4.1, numpy 1.26.4, huggingface_hub 0.36.2, fastapi 0.165.0,
# uvicorn 0.32.1 (about 1.4 GB on disk). The script prints what it resolved each time.
#
# Usage: bash tools/peers/infinity_venv.sh [VENV_DIR]
#   VENV_DIR defaults to ~/.cache/mlx-serve-bench/infinity. Prints the venv path on success.
#   The benchmarks take it as --infinity-venv VENV_DIR.
set -euo pipefail

venv="${1:-$HOME/.cache/mlx-serve-bench/infinity}"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/infinity_emb" ]]; then
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install \
        "infinity-emb[server,torch]==0.0.78" \
        "torch==2.13.0"
fi
# Smoke check: the CLI imports (no network, no telemetry).
INFINITY_ANONYMOUS_USAGE_STATS=0 DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 \
    "$venv/bin/infinity_emb" v2 --help >/dev/null
"$venv/bin/python" -m pip freeze | grep -i -E '^(infinity[-_]emb|torch|transformers|sentence[-_]transformers|numpy|huggingface[-_]hub)=' >&2 || true
echo "$venv"
