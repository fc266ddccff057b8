#!/usr/bin/env bash
# End-to-end test of train_cifar10 --sweep (run by ctest as examples.sweep):
#   sweep_e2e.sh TRAIN_CIFAR10 CIFAR10_DIR WORK_DIR
# 1. a 2-value lr sweep writes one metrics file per setting, summary.csv/.md and the figures
# 2. run again: both settings are reported finished and not re-run; the summary is the same
# 3. a bad spec is refused with a message naming the key, and nothing runs
# 4. --plot on a single run writes its metrics and figures
set -euo pipefail
train=$1 cifar=$2 work=$3
[[ -f "$cifar/test_batch.bin" ]] || { echo "SKIP: no CIFAR-10 in '$cifar' (get it with scripts/get-cifar10.sh)"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
cd "$work"
common=(--data "$cifar" --train-limit 256 --test-limit 100 --epochs 2 --threads 2)
fail() { echo "FAIL: $*" >&2; exit 1; }

"$train" "${common[@]}" --sweep lr=0.01,0.001 --sweep-dir sw >first.log
for f in lr_0.01.csv lr_0.001.csv summary.csv summary.md loss.png accuracy.svg test_acc.png; do
  [[ -s sw/$f ]] || fail "sweep did not write sw/$f"
done
[[ $(wc -l <sw/lr_0.01.csv) -eq 3 ]] || fail "lr_0.01.csv should hold a header and 2 epochs"
grep -q '^| 0.001 |' sw/summary.md || fail "summary.md has no row for lr 0.001"
cp sw/summary.csv summary.first
echo "ok: sweep ran both settings"

"$train" "${common[@]}" --sweep lr=0.01,0.001 --sweep-dir sw >second.log
[[ $(grep -c "already finished" second.log) -eq 2 ]] || fail "finished settings were re-run"
grep -q "epoch train_loss" second.log && fail "the second sweep trained again"
cmp summary.first sw/summary.csv || fail "summary changed without new runs"
echo "ok: a finished sweep is not re-run"

status=0
"$train" "${common[@]}" --sweep momentum=0.9,0.5 >bad.log 2>&1 || status=$?
[[ $status -ne 0 ]] || fail "a bad sweep key was accepted"
grep -q "unknown key 'momentum'" bad.log || fail "the bad-key message does not name the key"
echo "ok: bad spec refused"

"$train" "${common[@]}" --plot single >single.log
[[ -s single/metrics.csv && -s single/loss.png && -s single/accuracy.svg ]] || fail "--plot wrote no figures"
echo "ok: --plot"
