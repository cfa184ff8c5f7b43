#!/usr/bin/env bash
# Installs dependencies (when missing), configures and builds fastrel.
# Usage: scripts/build.sh [--sanitize address|thread] [--build-dir DIR] [--release]
#                        [--target T]...
#   default build dir: build/ (build-asan/, build-tsan/ for sanitizer builds)
#   --target: build only these targets (default: everything)
# In CI (CI=true) warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=""
build_dir=""
build_type="RelWithDebInfo"
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --release) build_type="Release"; shift ;;
    --target) targets+=(--target "$2"); shift 2 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$build_dir" ]; then
  case "$sanitize" in
    "") build_dir=build ;;
    address) build_dir=build-asan ;;
    thread) build_dir=build-tsan ;;
    *) echo "build.sh: --sanitize must be address or thread" >&2; exit 2 ;;
  esac
fi

bash scripts/install-deps.sh

werror=OFF
if [ "${CI:-}" = "true" ]; then werror=ON; fi
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DFASTREL_WERROR="$werror" \
  -DFASTREL_SANITIZE="$sanitize" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"
