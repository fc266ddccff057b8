# Shared by scripts/train.sh, scripts/test.sh and .ci/run (sourced, not run): the Debian packages
# ctnn's build and tests need, and installing the missing ones.
#
#   source scripts/lib/packages.sh
#   ctnn_require_packages "$prog" "${CTNN_BUILD_PACKAGES[@]}"
#
# Already installed packages are not fetched again (apt is skipped when nothing is missing). As
# root, the missing ones are installed with apt-get (its output goes to a log, whose tail is shown
# on failure); otherwise the exact apt-get line is printed and the script stops. Set
# CTNN_SKIP_PACKAGES=1 to skip the check (another distribution, or packages built by hand).

# Building (CMake configures the library, examples, tests and benchmarks together), getting the
# data and drawing plots: cmake, g++ (with libgomp for OpenMP), make; Eigen 3.4, xsimd, doctest,
# CLI11, Google Benchmark, nlohmann-json (ctnn/io), libpng and libjpeg-turbo (ctnn/io/image_decode.hpp:
# predict's image decoding); xz-utils (the
# .tar.xz archives), curl + ca-certificates (the official CIFAR-10 download); gnuplot-nox
# (scripts/plot_metrics.sh).
CTNN_BUILD_PACKAGES=(cmake g++ make libeigen3-dev libxsimd-dev doctest-dev libcli11-dev libbenchmark-dev
                     nlohmann-json3-dev libpng-dev libjpeg62-turbo-dev xz-utils ca-certificates curl gnuplot-nox)
# What only the tests add: Python with onnx (onnx.checker) and OpenCV's dnn module, the consumers
# the ONNX export is checked against; Open MPI (an MPI found by CMake defines ctnn::mpi, and the
# tests run data-parallel training under mpirun; the build works without it).
CTNN_TEST_PACKAGES=(python3 python3-numpy python3-onnx python3-opencv libopenmpi-dev openmpi-bin)

ctnn_missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$p"
  done
}

# ctnn_require_packages PROG PACKAGE...: returns when every PACKAGE is installed.
ctnn_require_packages() {
  local prog=$1
  shift
  if [[ -n "${CTNN_SKIP_PACKAGES:-}" ]]; then
    echo "$prog: CTNN_SKIP_PACKAGES is set: not checking the Debian packages ($*)"
    return 0
  fi
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "$prog: no dpkg-query (not Debian?): not checking packages; ctnn needs the equivalents of: $*" >&2
    return 0
  fi
  local missing
  mapfile -t missing < <(ctnn_missing_packages "$@")
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "$prog: the ${#} Debian packages needed are installed"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "$prog: error: these Debian packages are missing: ${missing[*]}" >&2
    echo "$prog: install them as root, then run this again:" >&2
    echo "  sudo apt-get update && sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  local log=${TMPDIR:-/tmp}/ctnn-apt.log
  local opts=(-q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600)
  echo "$prog: installing ${missing[*]} (apt log: $log)"
  : >"$log"
  local cmd
  for cmd in "apt-get ${opts[*]} update" "apt-get ${opts[*]} install -y --no-install-recommends ${missing[*]}"; do
    echo "+ $cmd" >>"$log"
    if ! DEBIAN_FRONTEND=noninteractive $cmd </dev/null >>"$log" 2>&1; then
      echo "$prog: error: '$cmd' failed; last lines of $log:" >&2
      tail -n 40 "$log" >&2
      exit 1
    fi
  done
  mapfile -t missing < <(ctnn_missing_packages "$@")
  if [[ ${#missing[@]} -ne 0 ]]; then
    echo "$prog: error: still missing after apt-get install: ${missing[*]} (see $log)" >&2
    exit 1
  fi
  echo "$prog: packages installed"
}
