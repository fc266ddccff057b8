#!/usr/bin/env bash
# End to end: train_fer2013's presets train on a slice of the real FER2013, the schedule is
# stepped once per epoch, the final report gives each test-time augmentation level, per-class
# accuracy and the confusion matrix, and bad input is refused with a clear message.
# predict reads the saved model: its test accuracy equals the trainer's, and it classifies a face.
#   fer2013_e2e.sh TRAIN_FER2013 DATA_DIR WORK_DIR [PREDICT]
# Exits 77 (CTest: skipped) when DATA_DIR is absent (scripts/get-fer2013.sh makes it).
set -euo pipefail
train=$1 data=$2 work=$3 predict=${4:-}
source "$(dirname "${BASH_SOURCE[0]}")/../support/require_data.sh"
require_fer2013 "$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$train" --data-dir "$data" --model fast --epochs 3 --train-limit 6000 --test-limit 1000 --tta 2 \
         --metrics "$work/fast.csv" --save "$work/fast.safetensors" >"$work/fast.log" 2>&1 ||
  { cat "$work/fast.log"; fail "fast run failed"; }
cat "$work/fast.log"
grep -q "adam lr 0.001 (schedule cosine per epoch: CosineAnnealingLR(t_max=3, eta_min=0))" "$work/fast.log" ||
  fail "fast recipe not printed"
# Stepped per epoch: epoch 2 of 3 trains at 1e-3 * (1 + cos(pi / 3)) / 2.
grep -Eq "^ +2  7\.50e-04 " "$work/fast.log" || fail "epoch 2 should train at lr 7.50e-04"
[[ $(wc -l <"$work/fast.csv") -eq 4 ]] || fail "metrics CSV should hold a header and 3 epochs"
grep -q "test accuracy, test-time augmentation 0 (none)" "$work/fast.log" || fail "no plain accuracy"
grep -q "test accuracy, test-time augmentation 1 (mirror)" "$work/fast.log" || fail "no mirror accuracy"
grep -q "final test accuracy, test-time augmentation 2 (mirror + 1-pixel shifts)" "$work/fast.log" || fail "no TTA 2"
for c in angry disgust fear happy sad surprise neutral; do
  grep -Eq "^  $c +[0-9.]+%" "$work/fast.log" || fail "no per-class accuracy for $c"
done
grep -q "confusion matrix (rows: true class, columns: predicted)" "$work/fast.log" || fail "no confusion matrix"
[[ -s "$work/fast.safetensors" ]] || fail "--save wrote nothing"
# Learns: 3 epochs on 6,000 faces put it well above the majority class (happy, about 25 %).
acc=$(sed -nE 's/^final test accuracy[^:]*: ([0-9.]+)%.*/\1/p' "$work/fast.log")
awk -v a="$acc" 'BEGIN { exit !(a > 33) }' || fail "fast test accuracy $acc % is not above 33 %"

# --evaluate on the saved model reproduces the final report exactly.
"$train" --data-dir "$data" --model fast --evaluate "$work/fast.safetensors" --test-limit 1000 --tta 2 \
         >"$work/evaluate.log" 2>&1 || { cat "$work/evaluate.log"; fail "--evaluate failed"; }
grep -q "evaluating $work/fast.safetensors (no training" "$work/evaluate.log" || fail "--evaluate not announced"
grep "^final test accuracy" "$work/fast.log" >"$work/final.train"
grep "^final test accuracy" "$work/evaluate.log" >"$work/final.evaluate"
cmp -s "$work/final.train" "$work/final.evaluate" ||
  fail "--evaluate gives '$(cat "$work/final.evaluate")', training gave '$(cat "$work/final.train")'"
if "$train" --data-dir "$data" --model strong --evaluate "$work/fast.safetensors" --test-limit 100 >"$work/bad1.log" 2>&1; then
  fail "--evaluate with the wrong --model should be refused"
fi
grep -q "holds a fer2013-fast model; pass --model fast" "$work/bad1.log" || fail "unclear message: $(cat "$work/bad1.log")"

if [[ -n "$predict" ]]; then
  "$predict" --model "$work/fast.safetensors" --eval "$data" --test-limit 1000 >"$work/eval.log" 2>&1 ||
    { cat "$work/eval.log"; fail "predict --eval failed"; }
  cat "$work/eval.log"
  plain=$(sed -nE 's/^test accuracy, test-time augmentation 0 \(none\): ([0-9.]+)%.*/\1/p' "$work/fast.log")
  evaluated=$(sed -nE 's/^test accuracy ([0-9.]+)% .*/\1/p' "$work/eval.log")
  [[ -n "$plain" && "$plain" == "$evaluated" ]] || fail "predict --eval gives $evaluated %, the trainer $plain %"
  # The first PublicTest face as a binary PGM.
  { printf 'P5\n48 48\n255\n'; dd if="$data/fer2013-test.bin" bs=1 skip=1 count=2304 status=none; } >"$work/face.pgm"
  "$predict" --model "$work/fast.safetensors" "$work/face.pgm" >"$work/face.log" 2>&1 ||
    { cat "$work/face.log"; fail "predict on a face failed"; }
  cat "$work/face.log"
  grep -q "face.pgm (48x48)" "$work/face.log" || fail "predict did not name the image"
  grep -Eq "^  1\. (angry|disgust|fear|happy|sad|surprise|neutral) +0\.[0-9]{4}$" "$work/face.log" ||
    fail "predict did not give an expression"
  if "$predict" --model "$work/fast.safetensors" --normalize cifar "$work/face.pgm" >"$work/bad0.log" 2>&1; then
    fail "--normalize should be refused for a FER2013 model"
  fi
  grep -q "is a grayscale (FER2013) model" "$work/bad0.log" || fail "unclear --normalize message: $(cat "$work/bad0.log")"
fi

# strong with rotation/zoom (not its default) and ten views: every augmentation path runs.
"$train" --data-dir "$data" --model strong --epochs 1 --train-limit 256 --test-limit 100 --tta 3 \
         --augment crop-flip-rotate >"$work/strong.log" 2>&1 || { cat "$work/strong.log"; fail "strong run failed"; }
grep -q "adamw lr 0.001" "$work/strong.log" || fail "strong recipe not printed"
grep -q "augment crop-flip-rotate" "$work/strong.log" || fail "rotation augmentation not printed"
grep -q "final test accuracy, test-time augmentation 3 (ten views" "$work/strong.log" || fail "strong: no ten-view accuracy"

# RandomErasing in the training pipeline (crop-flip-erase).
"$train" --data-dir "$data" --model fast --epochs 1 --train-limit 256 --test-limit 100 --tta 0 \
         --augment crop-flip-erase >"$work/erase.log" 2>&1 || { cat "$work/erase.log"; fail "crop-flip-erase run failed"; }
grep -q "augment crop-flip-erase" "$work/erase.log" || fail "erasing augmentation not printed"

if "$train" --data-dir "$data" --schedule "cosine:x" --epochs 1 --train-limit 64 >"$work/bad.log" 2>&1; then
  fail "a bad --schedule should be refused"
fi
grep -q 'schedule "cosine:x"' "$work/bad.log" || fail "unclear schedule message: $(cat "$work/bad.log")"
if "$train" --data-dir "$work/no-such-folder" --epochs 1 >"$work/bad2.log" 2>&1; then
  fail "a missing data folder should be refused"
fi
grep -q "FER2013 not found: '$work/no-such-folder' is not a folder" "$work/bad2.log" ||
  fail "unclear missing-data message: $(cat "$work/bad2.log")"
echo "train_fer2013 presets: OK"
