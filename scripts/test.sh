#!/usr/bin/env bash
# Build ctnn and run every test. This is THE test command (README, .ci/run).
#
#   scripts/test.sh [--data-archive PATH]
#
# 0. Installs the Debian packages the build and the tests need when run as root and any is
#    missing (scripts/lib/packages.sh); otherwise prints the apt-get line and stops.
# 1. Puts CIFAR-10 into <repo>/data/cifar-10-batches-bin with scripts/get-cifar10.sh, from
#      --data-archive PATH, else $CTNN_CIFAR10_ARCHIVE, else ../shared/data/cifar-10-binary.tar.xz
#      (next to the repository) if it exists, else by downloading it (needs curl or wget).
#    A SHA256SUMS file beside the archive is verified by get-cifar10.sh.
#    FER2013 (optional) goes into <repo>/data/fer2013-binary with scripts/get-fer2013.sh, from
#      $CTNN_FER2013_ARCHIVE, else ../shared/data/fer2013-binary.tar.xz if it exists; with
#      neither, the FER2013 tests skip (FER2013 has no anonymous download).
# 2. Configures a Release build in <repo>/build and builds it with -j$(nproc).
# 3. Runs `ctest --test-dir build --output-on-failure -j2` and exits with its status.
#
# Environment: CTNN_BUILD_JOBS (default: nproc) and CTNN_TEST_JOBS (default: 2) override the
# parallelism; CTNN_CIFAR10_ARCHIVE and CTNN_FER2013_ARCHIVE are described above;
# CTNN_SKIP_PACKAGES=1 skips step 0.
set -euo pipefail

prog=scripts/test.sh
say() { printf '\n==> %s: %s\n' "$prog" "$*"; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
archive=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data-archive) [[ $# -ge 2 ]] || die "--data-archive needs a path"; archive=$2; shift 2 ;;
    --data-archive=*) archive=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) printf '%s: error: unknown argument %s\n' "$prog" "'$1'" >&2; usage >&2; exit 2 ;;
  esac
done

# ---- 0. packages -----------------------------------------------------------------------------
source "$repo/scripts/lib/packages.sh"
ctnn_require_packages "$prog" "${CTNN_BUILD_PACKAGES[@]}" "${CTNN_TEST_PACKAGES[@]}"

# ---- 1. data --------------------------------------------------------------------------------
if [[ -n "$archive" ]]; then
  source_desc="--data-archive"
elif [[ -n "${CTNN_CIFAR10_ARCHIVE:-}" ]]; then
  archive=$CTNN_CIFAR10_ARCHIVE
  source_desc="CTNN_CIFAR10_ARCHIVE"
elif [[ -f "$repo/../shared/data/cifar-10-binary.tar.xz" ]]; then
  archive="$repo/../shared/data/cifar-10-binary.tar.xz"
  source_desc="the shared data folder"
fi
get_data=("$repo/scripts/get-cifar10.sh" --dest "$repo/data")
if [[ -n "$archive" ]]; then
  [[ -f "$archive" ]] || die "CIFAR-10 archive '$archive' (from $source_desc) does not exist"
  archive=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive")
  say "CIFAR-10 from $archive ($source_desc)"
  get_data+=(--from "$archive")
else
  say "CIFAR-10: no local archive (--data-archive, CTNN_CIFAR10_ARCHIVE, ../shared/data); downloading"
fi
[[ -f "$repo/scripts/get-cifar10.sh" ]] || die "$repo/scripts/get-cifar10.sh is missing"
bash "${get_data[@]}" || die "could not get CIFAR-10 (scripts/get-cifar10.sh failed; see above)"

fer_archive=${CTNN_FER2013_ARCHIVE:-}
fer_desc="CTNN_FER2013_ARCHIVE"
if [[ -z "$fer_archive" && -f "$repo/../shared/data/fer2013-binary.tar.xz" ]]; then
  fer_archive="$repo/../shared/data/fer2013-binary.tar.xz"
  fer_desc="the shared data folder"
fi
fer_cmake=()
if [[ -n "$fer_archive" ]]; then
  [[ -f "$fer_archive" ]] || die "FER2013 archive '$fer_archive' (from $fer_desc) does not exist"
  say "FER2013 from $fer_archive ($fer_desc)"
  [[ -f "$repo/scripts/get-fer2013.sh" ]] || die "$repo/scripts/get-fer2013.sh is missing"
  bash "$repo/scripts/get-fer2013.sh" --dest "$repo/data" --from "$fer_archive" \
    || die "could not get FER2013 (scripts/get-fer2013.sh failed; see above)"
  fer_cmake=("-DCTNN_FER2013_DIR=$repo/data/fer2013-binary")
else
  say "FER2013: no archive (CTNN_FER2013_ARCHIVE, ../shared/data/fer2013-binary.tar.xz); its tests will skip"
fi

# ---- 2. build -------------------------------------------------------------------------------
build_jobs=${CTNN_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}
say "configuring a Release build in $repo/build"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=Release \
      "-DCTNN_CIFAR10_DIR=$repo/data/cifar-10-batches-bin" \
      ${fer_cmake[@]+"${fer_cmake[@]}"} \
  || die "CMake configuration failed (see above)"
say "building with -j$build_jobs"
cmake --build "$repo/build" -j "$build_jobs" || die "the build failed (see above)"

# ---- 3. test --------------------------------------------------------------------------------
# -j2: the machine this runs on has 2 cores. Tests that use OpenMP run with OMP_NUM_THREADS=2;
# tests that declare PROCESSORS 2 get both cores to themselves, the rest (compile-fail,
# consumer builds, short unit tests) run two at a time. ctest starts the slowest tests of the
# previous run first (build/Testing/Temporary/CTestCostData.txt), so one long test overlaps
# with the short ones instead of running last.
test_jobs=${CTNN_TEST_JOBS:-2}
say "running ctest -j$test_jobs"
status=0
ctest --test-dir "$repo/build" --output-on-failure -j "$test_jobs" || status=$?
if [[ $status -eq 0 ]]; then
  say "all tests passed"
else
  say "FAILED: ctest exited with status $status (failed tests are listed above)"
fi
exit "$status"
