#!/usr/bin/env bash
# The H200 benchmarks (README "On an NVIDIA H200"), on the GPU machine, with the wheels that
# tools/h200/stage.sh fetched in $STASH (tools/h200/README.md says how they get there):
#   bash tools/h200/run_bench.sh            # this tree; results under $OUT
# Options (environment):
#   AFTER=DIR      the tree to measure (default: this repository root)
#   BEFORE=DIR     also measure this tree, interleaved model by model (default .h200/b/before
#                  when it exists): a before/after comparison on one machine
#   MODELS="minilm qwen3"  FORMATS=float,base64  REPEATS=2  CASES=1x1,16x1,4x32,1x640
#   NO_ST=1        skip the sentence-transformers peer   PROFILE=1  py-spy of the small loop
#   NO_FORWARD=1   skip the in-process forward-pass table (tools/bench_gpu.py), run last
set -uo pipefail
ROOT=$(pwd)
STASH=${STASH:-/root/stash}
OUT=${OUT:-/tmp/out}
AFTER=${AFTER:-$ROOT}
BEFORE=${BEFORE:-}
[ -z "$BEFORE" ] && [ -d "$ROOT/.h200/b/before" ] && BEFORE=$ROOT/.h200/b/before
MODELS=${MODELS:-minilm qwen3}
SITE=/tmp/site
SITE_HUB=/tmp/site-hub
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
echo "== $(date -u) after=$AFTER before=${BEFORE:-none} models=$MODELS"
# 1. Install: join the wheel halves, install every wheel beside the image's packages.
if [ ! -d "$SITE/mlx" ]; then
  [ -d "$ROOT/.h200/b" ] && cp "$ROOT"/.h200/b/cuda.part.* "$STASH/" 2>/dev/null
  cat "$STASH"/cuda.part.* > "$STASH/mlx_cuda_13-0.32.4-py3-none-manylinux_2_35_x86_64.whl"
  # huggingface-hub 2 (the server's) apart: the image's transformers, which the peer and the
  # model builder import, wants its own huggingface-hub 1.
  HUB=(huggingface_hub httpx2 httpcore2 truststore)
  hub=() rest=()
  for whl in "$STASH"/*.whl; do
    name=$(basename "$whl"); name=${name%%-*}
    if [[ " ${HUB[*]} " == *" $name "* ]]; then hub+=("$whl"); else rest+=("$whl"); fi
  done
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "${rest[@]}" || exit 1
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE_HUB" "${hub[@]}" || exit 1
  # libmlx finds the CUDA libraries through its RPATH, $ORIGIN/../../nvidia/*: the image's
  # PyTorch ships the same CUDA 13 libraries there.
  NVIDIA=$(python3 -c 'import os, nvidia; print(os.path.dirname(list(nvidia.__path__)[0]) + "/nvidia")')
  ln -sfn "$NVIDIA" "$SITE/nvidia"
fi
export PYTHONPATH=$SITE PATH=$SITE/bin:$PATH PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
python3 -c 'import mlx.core as mx; print(mx.__version__, mx.default_device(), mx.array([1.0]) + 1)' || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c 'import torch, transformers, sentence_transformers as st; print("torch", torch.__version__, "transformers", transformers.__version__, "sentence-transformers", st.__version__)'
for tree in "$AFTER" $BEFORE; do echo "$tree: $(git -C "$tree" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout')"; done
# 2. Models: random weights of the real shapes (tools/bench_gpu.py).
mkdir -p /root/models
(cd "$AFTER" && PYTHONPATH=$AFTER:$SITE python3 -c '
import sys
from pathlib import Path
from tools.bench_gpu import build_minilm, build_qwen3
for name, build in (("minilm", build_minilm), ("qwen3", build_qwen3)):
    if not Path("/root/models", name, "config.json").exists():
        build(Path("/root/models", name))
') || exit 1
# 3. Benchmarks, each tree in turn per model. What comes back: log.txt (every table),
# {before,after}-{model}.json, profile-{model}.txt (at most 8 files).
bench() {  # tree label model
  local tree=$1 label=$2 model=$3 args=()
  case $model in
    minilm) args=(--st-dtype float16) ;;
    qwen3) args=(--st-dtype bfloat16 --env MLX_SERVE_MAX_REQUEST_TOKENS=1048576) ;;
  esac
  [ -n "${NO_ST:-}" ] && args+=(--no-st)
  args+=(--env "PYTHONPATH=$tree:$SITE_HUB:$SITE")  # the server's (and its pull's) path
  [ -n "${PROFILE:-}" ] && [ "$label" = after ] && args+=(--profile "$OUT/profile-$model.txt")
  (cd "$tree" && PYTHONPATH=$tree:$SITE timeout 400 python3 -m tools.bench_serving \
     --model-dir "/root/models/$model" --formats "${FORMATS:-float,base64}" \
     --repeats "${REPEATS:-2}" --cases "${CASES:-1x1,16x1,4x32,1x640}" \
     --json "$OUT/$label-$model.json" "${args[@]}" 2>&1 | grep -v 'Loading weights')
}
for model in $MODELS; do
  echo "== $(date -u) $model"
  [ -n "$BEFORE" ] && bench "$BEFORE" before "$model"
  bench "$AFTER" after "$model"
done
# 4. The forward pass in process against transformers (README "On an NVIDIA H200").
if [ -z "${NO_FORWARD:-}" ]; then
  echo "== $(date -u) python -m tools.bench_gpu"
  (cd "$AFTER" && PYTHONPATH=$AFTER:$SITE timeout 240 python3 -m tools.bench_gpu 2>&1 \
     | grep -v 'Loading weights')
fi
ls -la "$OUT"
