#!/usr/bin/env bash
# End to end: the airbench and resnet9 presets train through the whole recipe on a slice of
# CIFAR-10 (whitening and dirac init, parameter groups, per-step schedule, Lookahead, label
# smoothing, test-time augmentation), print their defaults, write the final-accuracy CSV, resume
# a Lookahead run from a mid-epoch checkpoint to the same weights, and
# refuse option combinations they do not support with a clear message.
#   speedrun_e2e.sh TRAIN_CIFAR10 DATA_DIR WORK_DIR
set -euo pipefail
train=$1 data=$2 work=$3
source "$(dirname "${BASH_SOURCE[0]}")/../support/require_data.sh"
require_cifar10 "$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$train" --data "$data" --model airbench --epochs 2 --batch-size 256 --train-limit 2560 --test-limit 500 \
         --metrics "$work/air.csv" >"$work/air.log" 2>&1 || { cat "$work/air.log"; fail "airbench run failed"; }
cat "$work/air.log"
grep -q "sgd lr 1.5 (schedule triangle:0.2,0.23,0.07), momentum 0.85 (Nesterov)" "$work/air.log" || fail "airbench defaults not printed"
grep -q "label smoothing 0.2, test-time augmentation level 2, lookahead on" "$work/air.log" || fail "airbench recipe not printed"
grep -q "patch-whitening conv from the first 2560 training images" "$work/air.log" || fail "whitening not announced"
grep -q "final test accuracy with test-time augmentation (level 2" "$work/air.log" || fail "no TTA evaluation"
[[ $(wc -l <"$work/air.csv") -eq 3 ]] || fail "metrics CSV should hold a header and 2 epochs"
[[ -f "$work/air.final.csv" ]] || fail "no final CSV"
# Learns: the TTA accuracy on 500 test images after 20 steps is far above chance (10 %).
acc=$(tail -n 1 "$work/air.final.csv" | cut -d, -f3)
awk -v a="$acc" 'BEGIN { exit !(a > 0.25) }' || fail "airbench test accuracy $acc is not above 0.25"

"$train" --data "$data" --model resnet9 --epochs 1 --batch-size 64 --train-limit 256 --test-limit 100 \
         >"$work/res.log" 2>&1 || { cat "$work/res.log"; fail "resnet9 run failed"; }
grep -q "Residual" "$work/res.log" || fail "resnet9 summary has no Residual block"
grep -q "test-time augmentation (level 1: mirror)" "$work/res.log" || fail "resnet9 TTA missing"

# Lookahead is checkpointed: interrupted mid-epoch 2 and resumed, airbench ends on the
# uninterrupted run's weights, byte for byte.
la=(--data "$data" --model airbench --epochs 2 --train-limit 512 --test-limit 100 --batch-size 128 --threads 2 --tta 0)
"$train" "${la[@]}" --save "$work/la_full.safetensors" >"$work/la_full.log" 2>&1 || fail "airbench run failed: $(tail -n 3 "$work/la_full.log")"
status=0
"$train" "${la[@]}" --checkpoint "$work/ck" --interrupt-after 6 >"$work/la_cut.log" 2>&1 || status=$?
[[ $status -eq 130 ]] || fail "--interrupt-after 6 exited with $status: $(tail -n 3 "$work/la_cut.log")"
"$train" "${la[@]}" --resume "$work/ck" --save "$work/la_resumed.safetensors" >"$work/la_resumed.log" 2>&1 ||
  fail "airbench resume failed: $(tail -n 3 "$work/la_resumed.log")"
cmp -s "$work/la_full.safetensors" "$work/la_resumed.safetensors" || fail "airbench (Lookahead) resumed to other weights"
if "$train" "${la[@]}" --resume "$work/ck" --lookahead off >"$work/bad.log" 2>&1; then
  fail "a Lookahead checkpoint resumed without Lookahead should be refused"
fi
grep -q "trainer.lookahead.k" "$work/bad.log" || fail "unclear message: $(cat "$work/bad.log")"
if "$train" --data "$data" --model airbench --schedule "cosine:x" --epochs 1 --train-limit 256 --batch-size 128 >"$work/bad2.log" 2>&1; then
  fail "a bad --schedule should be refused"
fi
grep -q 'schedule "cosine:x"' "$work/bad2.log" || fail "unclear schedule message: $(cat "$work/bad2.log")"
if "$train" --data "$data" --model airbench --epochs 1 --train-limit 256 >"$work/bad3.log" 2>&1; then
  fail "a training set smaller than one batch (with drop_last) should be refused"
fi
grep -q "no full training batch: 256 training images and --batch-size 1024" "$work/bad3.log" || fail "unclear message: $(cat "$work/bad3.log")"
echo "speed-run presets: OK"
