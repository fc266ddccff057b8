#!/usr/bin/env bash
# End to end: the airbench, airbench_muon, airbench96 and resnet9 presets train through the whole recipe on a slice of
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

# With --conv benchmark: each 3x3 conv shape times its three algorithms once per batch size and mode.
"$train" --data "$data" --model resnet9 --epochs 1 --batch-size 64 --train-limit 256 --test-limit 100 --conv benchmark \
         >"$work/res.log" 2>&1 || { cat "$work/res.log"; fail "resnet9 run failed"; }
grep -q "Residual" "$work/res.log" || fail "resnet9 summary has no Residual block"
grep -Eq "ctnn: Conv 128->128 3x3 pad 1 on 16x16, batch 64, forward \+ backward(, im2col in bf16, Winograd in fp32)?: im2col [0-9.]+ ms, winograd_f2 [0-9.]+ ms, winograd_f4 [0-9.]+ ms: (im2col|winograd_f2|winograd_f4)" \
  "$work/res.log" || fail "--conv benchmark did not time ResNet-9's 128->128 conv: $(grep 'ctnn: Conv' "$work/res.log")"
[[ $(grep -c "ctnn: Conv 128->128 3x3 pad 1 on 16x16, batch 64, forward + backward" "$work/res.log") -eq 1 ]] ||
  fail "--conv benchmark timed ResNet-9's 128->128 conv more than once at batch 64"
grep -q "test-time augmentation (level 1: mirror)" "$work/res.log" || fail "resnet9 TTA missing"

# airbench_muon: Muon on every trainable filter, airbench94_muon's SGD groups converted to the mean
# loss at this batch size (aux: 0.053 x 256, 2e-6 x 256 / 0.053 / 256; head: 0.67 x 256 x (9/256)^2,
# 2e-6 / 0.67 x (256/9)^2), the whitening bias on a linear lr of its own; it learns.
"$train" --data "$data" --model airbench_muon --epochs 2 --batch-size 256 --train-limit 2560 --test-limit 500 \
         --metrics "$work/muon.csv" >"$work/muon.log" 2>&1 || { cat "$work/muon.log"; fail "airbench_muon run failed"; }
cat "$work/muon.log"
grep -q "muon lr 0.24 (schedule piecewise:0:1,1:0), momentum 0.6 (Nesterov), weight decay 0" "$work/muon.log" ||
  fail "airbench_muon defaults not printed"
grep -q "muon groups: muon (6 tensors, lr 0.24, weight decay 0) aux (6 tensors, lr 13.568, weight decay 3.77358e-05) head (1 tensors, lr 0.211992, weight decay 0.00241518) whiten_bias (1 tensors, lr 13.568, weight decay 3.77358e-05)" \
  "$work/muon.log" || fail "airbench_muon parameter groups are not airbench94_muon's"
grep -q "bias trains for 3 epochs, its lr falling linearly to 0" "$work/muon.log" || fail "whitening-bias schedule not announced"
acc=$(tail -n 1 "$work/muon.final.csv" | cut -d, -f3)
awk -v a="$acc" 'BEGIN { exit !(a > 0.25) }' || fail "airbench_muon test accuracy $acc is not above 0.25"
if "$train" --data "$data" --model seed --optimizer muon --epochs 1 --train-limit 256 >"$work/bad_muon.log" 2>&1; then
  fail "--optimizer muon on the seed network should be refused"
fi
grep -q "optimizer muon is airbench94_muon's recipe, for --model airbench_muon or airbench" "$work/bad_muon.log" ||
  fail "unclear message: $(cat "$work/bad_muon.log")"

# airbench96: the published recipe's defaults (lr 9.0 and wd 0.012 per 1024 examples, converted to
# the mean loss), its augmentation and residual groups, and it trains (16 steps).
"$train" --data "$data" --model airbench96 --epochs 2 --batch-size 64 --train-limit 512 --test-limit 200 \
         --metrics "$work/a96.csv" >"$work/a96.log" 2>&1 || { cat "$work/a96.log"; fail "airbench96 run failed"; }
cat "$work/a96.log"
grep -q "model airbench96, 2 epochs, batch 64, sgd lr 1.17391 (schedule piecewise:0:0.2,0.1:1,1:0), momentum 0.85 (Nesterov), weight decay 0.00133333" \
  "$work/a96.log" || fail "airbench96 defaults not printed"
grep -q "augment flip-translate4-cutout12, normalize cifar, label smoothing 0.2, test-time augmentation level 2, lookahead on" \
  "$work/a96.log" || fail "airbench96 recipe not printed"
[[ $(grep -c "Residual" "$work/a96.log") -eq 3 ]] || fail "airbench96 summary should show its 3 residual pairs"
# PyTorch's airbench96 (bench/compare_pytorch.py's) has 12,721,208 parameters, 3,456 of them the
# BatchNorm weights that airbench96 freezes at 1 and ctnn does not store.
grep -q "total parameters: 12717752" "$work/a96.log" || fail "airbench96 is not airbench96.py's network"
# Trains: the training loss falls from epoch 1 to 2 (4.01 -> 2.70 here). Its test accuracy after 16
# steps says little: BatchNorm's running statistics, at PyTorch's momentum 0.1, are still far from
# the batch statistics (test loss 118 after epoch 2).
awk -F, 'NR == 2 { l1 = $2 } NR == 3 { l2 = $2 } END { exit !(l2 < 0.85 * l1) }' "$work/a96.csv" ||
  fail "airbench96 training loss did not fall: $(cat "$work/a96.csv")"
[[ -f "$work/a96.final.csv" ]] || fail "airbench96 wrote no final CSV"

# resumes_exactly NAME OPTIONS...: a run interrupted mid-epoch 2 (after 6 steps) and resumed from
# its checkpoint (DIR $work/ck_NAME) saves the uninterrupted run's weights, byte for byte.
resumes_exactly() {
  local name=$1; shift
  "$train" "$@" --save "$work/${name}_full.safetensors" >"$work/${name}_full.log" 2>&1 ||
    fail "$name run failed: $(tail -n 3 "$work/${name}_full.log")"
  local status=0
  "$train" "$@" --checkpoint "$work/ck_$name" --interrupt-after 6 >"$work/${name}_cut.log" 2>&1 || status=$?
  [[ $status -eq 130 ]] || fail "$name --interrupt-after 6 exited with $status: $(tail -n 3 "$work/${name}_cut.log")"
  "$train" "$@" --resume "$work/ck_$name" --save "$work/${name}_resumed.safetensors" >"$work/${name}_resumed.log" 2>&1 ||
    fail "$name resume failed: $(tail -n 3 "$work/${name}_resumed.log")"
  cmp -s "$work/${name}_full.safetensors" "$work/${name}_resumed.safetensors" || fail "$name resumed to other weights"
}
# Muon's state and the whitening bias's own lr, and airbench's Lookahead, are checkpointed.
resumes_exactly muon --data "$data" --model airbench_muon --epochs 2 --train-limit 512 --test-limit 100 --batch-size 128 \
                --threads 2 --tta 0
la=(--data "$data" --model airbench --epochs 2 --train-limit 512 --test-limit 100 --batch-size 128 --threads 2 --tta 0)
resumes_exactly lookahead "${la[@]}"
if "$train" "${la[@]}" --resume "$work/ck_lookahead" --lookahead off >"$work/bad.log" 2>&1; then
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
