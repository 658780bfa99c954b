#!/usr/bin/env bash
# Install everything the tests need into .venv, then run the whole test suite.
# Usage: bash tools/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# An optimised BLAS for MLX on Linux (31x faster matmuls than the reference BLAS MLX ships),
# systemd-analyze for checking the generated user unit, and g++, which MLX's CPU backend
# needs to build its compiled kernels (without it requests run ~1.5x slower).
if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if ! ldconfig -p | grep libopenblas.so.0 >/dev/null || ! command -v systemd-analyze >/dev/null \
      || ! command -v g++ >/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      libopenblas0-pthread systemd g++ >/dev/null
  fi
fi

# nginx for the test of replicas behind the shipped deploy/nginx configuration; the test runs
# its own nginx process on loopback. RUNLEVEL=1 keeps invoke-rc.d from starting the package's
# own service where it honours it; where one starts anyway it is on port 80, unused by tests.
if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
    apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# torch is pinned to the local CPU build first so no requirement pulls a CUDA build.
"${PIP[@]}" "torch==2.13.0"
EXTRA=dev; [ "$(uname -s)" = Linux ] && EXTRA="cpu,dev"
"${PIP[@]}" -e ".[$EXTRA]" "torch==2.13.0"

exec .venv/bin/python -m pytest "$@"
