#!/usr/bin/env bash
# Build the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer and run them.
#
#   scripts/test-sanitizers.sh
#
# Configures <repo>/build-asan with -DCTNN_SANITIZE=ON (tests/sanitizers.cmake), builds only the
# ctnn_tests_sanitized target and runs it. The target holds the unit tests of the code that reads
# untrusted bytes or indexes raw buffers (readers and their corrupt-file cases, safetensors,
# checkpoints, ONNX, loaders, transforms, im2col/GEMM/Winograd kernels); pass
# -DCTNN_SANITIZE_ALL=ON by hand for every unit test (over half an hour to build on 2 cores).
# Any sanitizer report fails the run. Reads CIFAR-10 from <repo>/data/cifar-10-batches-bin (run
# scripts/test.sh or scripts/get-cifar10.sh first); without it the data-dependent cases print a
# "CTNN_SKIP:" line and return. The FER2013 cases are left out (CTNN_FER2013_DIR unset).
#
# Environment: CTNN_BUILD_JOBS (default: nproc), CTNN_CIFAR10_DIR.
# Took 12.6 minutes to build (test_winograd.cpp alone, on one core, the last 7 of them) and 38 s
# to run on the 2-vCPU Zen 2 of 2026-12-02.
set -euo pipefail

prog=scripts/test-sanitizers.sh
say() { printf '\n==> %s: %s\n' "$prog" "$*"; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$repo/build-asan
jobs=${CTNN_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}
cifar=${CTNN_CIFAR10_DIR:-$repo/data/cifar-10-batches-bin}

say "configuring $build (ASan + UBSan unit tests)"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTNN_SANITIZE=ON -DCTNN_BUILD_EXAMPLES=OFF \
      -DCTNN_BUILD_BENCHMARKS=OFF "-DCTNN_CIFAR10_DIR=$cifar" >/dev/null
say "building ctnn_tests_sanitized with -j$jobs"
cmake --build "$build" -j "$jobs" --target ctnn_tests_sanitized

say "running the sanitized unit tests"
status=0
CTNN_CIFAR10_DIR=$cifar CTNN_FER2013_DIR= OMP_NUM_THREADS=2 \
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/tests/ctnn_tests_sanitized" || status=$?
if [[ $status -eq 0 ]]; then
  say "sanitized unit tests passed"
else
  say "FAILED: the sanitized unit tests exited with status $status (reports above)"
fi
exit "$status"
