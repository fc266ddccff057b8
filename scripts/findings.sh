#!/usr/bin/env bash
# Re-runs the hyper-parameter studies of docs/findings.md on the full CIFAR-10 data set:
#   1. learning rate 0.1, 0.01, 0.001, 0.0001 (seed network, Adam, batch 32, 10 epochs)
#   2. depth: 2, 3, 4 conv blocks (seed, seed3, seed4; Adam 1e-3, batch 32, 10 epochs)
#   3. batch size 16, 32, 128, 512 (seed network, Adam 1e-3, 10 epochs)
# Each writes its metrics, summary and figures to docs/findings/<study>/ (finished settings are
# not re-run, so an interrupted study continues where it stopped). About 40 minutes on 2 cores.
#
#   scripts/findings.sh [--threads N] [study ...]     (studies: lr depth batch; default: all)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
threads=2
studies=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    lr|depth|batch) studies+=("$1"); shift ;;
    *) echo "scripts/findings.sh: unknown argument '$1' (studies: lr depth batch)" >&2; exit 2 ;;
  esac
done
[[ ${#studies[@]} -gt 0 ]] || studies=(lr depth batch)
train=$repo/build/bin/train_cifar10
[[ -x "$train" ]] || { cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build "$repo/build" --target train_cifar10 -j2; }
common=(--data "$repo/data/cifar-10-batches-bin" --epochs 10 --threads "$threads" --seed 1)
for s in "${studies[@]}"; do
  case "$s" in
    lr)    "$train" "${common[@]}" --sweep lr=0.1,0.01,0.001,0.0001 --sweep-dir "$repo/docs/findings/lr" ;;
    depth) "$train" "${common[@]}" --sweep model=seed,seed3,seed4 --sweep-dir "$repo/docs/findings/depth" ;;
    batch) "$train" "${common[@]}" --sweep batch-size=16,32,128,512 --sweep-dir "$repo/docs/findings/batch" ;;
  esac
done
# Checkpoints are for resuming only; the committed study keeps metrics, summaries and figures.
find "$repo/docs/findings" -name '*.checkpoint' -type d -prune -exec rm -rf {} +
