#!/usr/bin/env bash
# Stage what an H200 run of tools/h200/run_bench.sh needs, in two folders of the repository
# root that git ignores (each under the device tool's 64 MiB per call):
#   .h200/a: the first half of the mlx-cuda-13 wheel + the cp312 wheels the image lacks;
#   .h200/b: the second half (+ a copy of a tree to compare against, if BEFORE_TREE is set).
# Wheels are fetched with `pip download` into WHEELS (default /tmp/h200-wheels; files already
# there are reused). Usage, from the repository root: bash tools/h200/stage.sh
set -euo pipefail
ROOT=$(pwd)
WHEELS=${WHEELS:-/tmp/h200-wheels}
mkdir -p "$WHEELS" "$ROOT/.git/info"
grep -qx '/.h200/' "$ROOT/.git/info/exclude" 2>/dev/null || echo '/.h200/' >> "$ROOT/.git/info/exclude"
PLATFORMS=(--platform manylinux_2_35_x86_64 --platform manylinux_2_28_x86_64
           --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
           --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64)
# What the server needs beyond the GPU machine's own packages (Python 3.12, PyTorch CUDA 13,
# transformers, sentence-transformers, an older huggingface-hub):
# MLX with its CUDA 13 backend, and the project's runtime dependencies missing there or too
# old there (huggingface-hub >= 2 and its httpx2 transport). py-spy: the profile of the run.
PACKAGES=(mlx==0.32.4 mlx-cuda-13==0.32.4 sanic==25.12.1 sanic-routing==23.12.0
          tracerite==2.6.5 html5tagger==2.0.0 httptools==0.9.0 websockets==17.4 ujson==6.1.0
          pydantic==2.14.4 pydantic-core==2.50.5 pydantic-settings==2.16.3
          python-dotenv==1.2.4 annotated-types==0.8.0 typing-inspection==0.4.5
          dependency-injector==4.49.1 loguru==0.7.3 tenacity==9.2.1 argcomplete==3.7.2
          orjson==3.13.0 huggingface-hub==2.4.0 httpx2==2.16.2 httpcore2==2.16.2
          truststore==0.10.5 py-spy==0.4.3)
for package in "${PACKAGES[@]}"; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${PLATFORMS[@]}" -d "$WHEELS" "$package"
done
rm -rf "$ROOT/.h200" && mkdir -p "$ROOT/.h200/a" "$ROOT/.h200/b"
(cd "$ROOT/.h200" && split -b 46000000 "$WHEELS"/mlx_cuda_13-0.32.4-*.whl cuda.part.)
mv "$ROOT/.h200/cuda.part.aa" "$ROOT/.h200/a/" && mv "$ROOT/.h200/cuda.part.ab" "$ROOT/.h200/b/"
for whl in "$WHEELS"/*.whl; do
  case "$(basename "$whl")" in mlx_cuda_13-*) ;; *) cp "$whl" "$ROOT/.h200/a/" ;; esac
done
if [ -n "${BEFORE_TREE:-}" ]; then  # a git ref to compare against (its tracked files)
  mkdir -p "$ROOT/.h200/b/before" && git archive "$BEFORE_TREE" | tar -x -C "$ROOT/.h200/b/before"
fi
du -sh "$ROOT/.h200/a" "$ROOT/.h200/b"
