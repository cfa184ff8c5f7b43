#!/usr/bin/env bash
# Sets up, builds and runs every test (what CI runs).
# Usage: scripts/test.sh [--sanitize address|thread] [extra ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build_args=()
if [ "${1:-}" = "--sanitize" ]; then
  build_args=(--sanitize "$2"); shift 2
fi
bash scripts/build.sh "${build_args[@]}"
case "${build_args[1]:-}" in
  address) dir=build-asan ;;
  thread) dir=build-tsan ;;
  *) dir=build ;;
esac
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" "$@"
