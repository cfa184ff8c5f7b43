#!/usr/bin/env bash
# Sanitizer builds and test runs (one command each).
#   bash scripts/sanitize.sh address   ASan + UBSan build in build-asan/, every test
#   bash scripts/sanitize.sh thread    TSan build in build-tsan/, the tests labelled
#                                      "server-tsan" (the server's batching,
#                                      scheduler, worker and request-lifecycle
#                                      tests)
# Extra arguments go to ctest (e.g. -R e2e).
#
# Notes:
#  - fastrel-server links tcmalloc only in non-sanitizer builds (the
#    sanitizers bring their own allocator).
#  - Debian's libraries are not built with TSan. absl::Mutex/CondVar/
#    Notification are made visible by server/testing/tsan_absl_sync_shim.cc
#    (linked into the TSan test binaries); absl::Status refcounting is
#    suppressed in scripts/tsan.supp (reason there). gRPC's internals
#    (arena, executor hand-offs) cannot be fixed that way and produce
#    hundreds of false reports, so the gRPC end-to-end tests are not in the
#    "server-tsan" label; the server's own threading (batcher, workers, pending
#    requests, exactly-once completion) is covered by the labelled tests.
#  - oneDNN's CPU runtime is Debian's OpenMP (libgomp), also uninstrumented:
#    workers run single-threaded kernels (omp_set_num_threads(1)) and this
#    script sets OMP_NUM_THREADS=1, so no OpenMP worker threads exist.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
[ $# -gt 0 ] && shift
case "$mode" in
  address)
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    exec bash scripts/test.sh --sanitize address "$@"
    ;;
  thread)
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
    export OMP_NUM_THREADS=1
    exec bash scripts/test.sh --sanitize thread -L server-tsan "$@"
    ;;
  *)
    echo "usage: scripts/sanitize.sh address|thread [ctest args...]" >&2
    exit 2
    ;;
esac
