#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and fuzzes each for SECONDS (default 60),
# one after the other (so a 2-core machine stays usable), then prints what was found.
#
#   fuzz/run.sh [SECONDS]
#
# Targets: fuzz_safetensors (ctnn/io/safetensors.hpp + checkpoint.hpp loaders), fuzz_cifar10
# (ctnn/data/cifar10.hpp reader), fuzz_fer2013 (ctnn/data/fer2013.hpp: CSV, binary records,
# index and labels) and fuzz_image (ctnn/io/image_decode.hpp: libpng, libjpeg-turbo, PGM/PPM).
# fuzz/run.sh SECONDS TARGET... fuzzes only the targets named (e.g. image fer2013).
# Corpora grow in BUILD/corpus/<target> (kept between runs);
# crashing inputs go to BUILD/artifacts/<target>/ and make the script exit 1. Reproduce one with
#   BUILD/fuzz_<target> BUILD/artifacts/<target>/crash-...
#
# Environment: CTNN_FUZZ_BUILD (default <repo>/build-fuzz), CXX (default clang++-14).
# Debian 12 packages: clang-14 libclang-rt-14-dev (libFuzzer and the sanitizer runtimes)
# libomp-14-dev, plus ctnn's build dependencies, nlohmann-json3-dev, libpng-dev and
# libjpeg62-turbo-dev.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CTNN_FUZZ_BUILD:-$repo/build-fuzz}
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: fuzz/run.sh [SECONDS [TARGET...]]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(safetensors cifar10 fer2013 image)

cmake -S "$repo/fuzz" -B "$build" -DCMAKE_CXX_COMPILER="${CXX:-clang++-14}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2
"$build/make_seeds" "$build/seeds" >/dev/null

summary=()
found=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  extra=()
  [[ $t == safetensors ]] && extra+=(-dict="$repo/fuzz/safetensors.dict")
  [[ $t == cifar10 ]] && extra+=(-max_len=16384)
  [[ $t == fer2013 ]] && extra+=(-max_len=32768)
  [[ $t == image ]] && extra+=(-max_len=65536)
  seeds=$build/seeds/$t
  [[ -d $repo/fuzz/seeds/$t ]] && seeds=$repo/fuzz/seeds/$t
  log=$build/fuzz_$t.log
  echo "==> fuzz_$t for ${seconds}s (log: $log)"
  status=0
  "$build/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "${extra[@]}" "$corpus" "$seeds" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  crashes=$(find "$artifacts" -type f | wc -l)
  cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  summary+=("fuzz_$t: ${execs:-?} executions in ${seconds}s, coverage ${cov:-?} edges, corpus $(ls "$corpus" | wc -l) inputs, exit status $status, $crashes crashing inputs")
  if [[ $status -ne 0 || $crashes -ne 0 ]]; then
    found=1
    grep -E "ERROR|SUMMARY|runtime error" "$log" | head -n 5 || true
  fi
done
printf '%s\n' "${summary[@]}"
exit "$found"
