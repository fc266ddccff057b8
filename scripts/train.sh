#!/usr/bin/env bash
# The main job: get CIFAR-10, build the example trainer, train the seed network.
#
#   scripts/train.sh [--data-archive PATH] [train_cifar10 options...]
#
# As root it first installs the Debian packages the build needs when any is missing
# (scripts/lib/packages.sh); otherwise it prints the apt-get line and stops.
# Data comes from --data-archive PATH (a cifar-10-binary .tar.gz or .tar.xz), else
# $CTNN_CIFAR10_ARCHIVE, else ../shared/data/cifar-10-binary.tar.xz beside the repository if it
# exists, else the official download (scripts/get-cifar10.sh checks its checksum).
# Every other argument goes to train_cifar10; with none, it trains the coursework network for
# 5 epochs (Adam, lr 1e-3, batch 32) and writes results/seed_metrics.csv.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
archive=${CTNN_CIFAR10_ARCHIVE:-}
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data-archive) [[ $# -ge 2 ]] || { echo "scripts/train.sh: --data-archive needs a path" >&2; exit 2; }; archive=$2; shift 2 ;;
    --data-archive=*) archive=${1#*=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
source "$repo/scripts/lib/packages.sh"
ctnn_require_packages scripts/train.sh "${CTNN_BUILD_PACKAGES[@]}"

if [[ -z "$archive" && -f "$repo/../shared/data/cifar-10-binary.tar.xz" ]]; then
  archive="$repo/../shared/data/cifar-10-binary.tar.xz"
fi

get=("$repo/scripts/get-cifar10.sh" --dest "$repo/data")
[[ -n "$archive" ]] && get+=(--from "$archive")
bash "${get[@]}"

cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$repo/build" -j"$(nproc 2>/dev/null || echo 2)" --target train_cifar10

if [[ ${#args[@]} -eq 0 ]]; then
  mkdir -p "$repo/results"
  args=(--model seed --epochs 5 --metrics "$repo/results/seed_metrics.csv")
fi
cd "$repo"
exec "$repo/build/bin/train_cifar10" --data "$repo/data/cifar-10-batches-bin" "${args[@]}"
