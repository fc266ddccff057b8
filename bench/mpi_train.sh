#!/usr/bin/env bash
# Data-parallel training against one process on this machine (docs/mpi.md, README "Training on
# several processes and machines"): train_cifar10, same global batch, one epoch on a slice of
# CIFAR-10, for each network:
#   one process, --threads 2 | mpirun -np 2 --threads 1 over shared memory | the same over
#   loopback TCP (--mca btl tcp,self)
# and prints a Markdown table: training images/s (the epoch line's, over every process) and the
# share of the training time process 0 waited for gradients after the backward (what the
# overlap did not hide).
#
#   bench/mpi_train.sh [BUILD_DIR] [CIFAR10_DIR]      (defaults: build, data/cifar-10-batches-bin)
#   NETS="seed:32 airbench:1024" TRAIN_LIMIT=10240 bench/mpi_train.sh
#
# Nothing else should run meanwhile: 2 processes of one thread on 2 cores is what it measures.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
cifar=${2:-$repo/data/cifar-10-batches-bin}
train=$build/bin/train_cifar10
nets=${NETS:-seed:32 seed:128 airbench:1024}
limit=${TRAIN_LIMIT:-10240}
[[ -x $train ]] || { echo "mpi_train.sh: no $train (build it first)" >&2; exit 1; }
[[ -f $cifar/data_batch_1.bin ]] || { echo "mpi_train.sh: no CIFAR-10 in $cifar (scripts/get-cifar10.sh)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run LABEL COMMAND...: the epoch line's img/s and the waited share, as "IMG_S WAIT%"
run() {
  local label=$1; shift
  "$@" >"$work/$label.log" 2>&1 || { echo "mpi_train.sh: $label failed:" >&2; tail -n 5 "$work/$label.log" >&2; exit 1; }
  local img wait
  img=$(awk '$1 == "1" && NF == 7 { print $7 }' "$work/$label.log")
  wait=$(sed -n 's/.*training time (\([0-9.]*%\)) waited.*/\1/p' "$work/$label.log")
  echo "${img:-?} ${wait:--}"
}

echo "| network, global batch | 1 process x 2 threads: img/s | 2 processes x 1 thread, shared memory: img/s (waited) | 2 x 1, loopback TCP: img/s (waited) |"
echo "|---|---:|---:|---:|"
for spec in $nets; do
  net=${spec%%:*} batch=${spec##*:}
  args=(--data "$cifar" --model "$net" --epochs 1 --batch-size "$batch" --train-limit "$limit" --test-limit 1000
        --adapt-threads off --tta 0)
  read -r one _ < <(OMP_NUM_THREADS=2 run "$net-one" "$train" "${args[@]}" --threads 2)
  read -r shm shm_wait < <(OMP_NUM_THREADS=1 run "$net-shm" mpirun -np 2 "$train" "${args[@]}" --threads 1)
  read -r tcp tcp_wait < <(OMP_NUM_THREADS=1 run "$net-tcp" mpirun -np 2 --mca btl tcp,self "$train" "${args[@]}" --threads 1)
  echo "| $net, $batch | $one | $shm ($shm_wait) | $tcp ($tcp_wait) |"
done
