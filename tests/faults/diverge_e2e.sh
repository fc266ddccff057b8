#!/usr/bin/env bash
# A diverging run stops (run by ctest as faults.diverge):
#   diverge_e2e.sh TRAIN_CIFAR10 TRAIN_FER2013 WORK_DIR [PREDICT]
# On synthetic CIFAR-10 files (no data set needed):
# 1. --lr 1e30 --optimizer sgd --momentum 0.9: exit status 3 at the first non-finite loss, a
#    message naming the epoch, the step and the last finite loss; no "nan" epoch line, no --save file
# 2. --schedule step:1,1e30 with --checkpoint: epoch 1 is checkpointed, epoch 2 diverges; the
#    checkpoint is not rewritten (the same bytes before and after a resumed run that diverges
#    again) and holds finite weights (predict reads it and prints finite probabilities)
# 3. --on-nan skip with the same run: batches are left out with a warning, but every later batch is
#    non-finite too, so it stops all the same after 5 in a row
# 4. train_fer2013 (on synthetic FER2013 files) --lr 1e30 --optimizer sgd: the same stop, exit 3,
#    no --save file
set -euo pipefail
train=$1 train_fer=$2 work=$3 predict=${4:-}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fault_test_in "$work" 256 64
common=(--data data --train-limit 256 --test-limit 64 --batch-size 32 --threads 2 --optimizer sgd --momentum 0.9)

status=0
"$train" "${common[@]}" --lr 1e30 --epochs 3 --save model.safetensors >lr.log 2>lr.err || status=$?
[[ $status -eq 3 ]] || fail "--lr 1e30 exited with $status, expected 3: $(cat lr.err)"
grep -Eq "^error: training diverged at epoch 1, step [0-9]+ of 8: the loss is (nan|inf|-inf); the last finite loss was [0-9.e+-]+, at epoch 1, step [0-9]+" lr.err ||
  fail "unclear divergence message: $(cat lr.err)"
! grep -qi "nan" lr.log || fail "an epoch line with nan was printed: $(grep -i nan lr.log)"
[[ ! -e model.safetensors ]] || fail "--save wrote a model after the divergence"
grep -q "no model saved to model.safetensors" lr.err || fail "no word about --save: $(cat lr.err)"
echo "ok: --lr 1e30 stops at the first non-finite loss (exit 3): $(head -n 1 lr.err)"

schedule=(--lr 1e-3 --schedule step:1,1e30 --epochs 3)
status=0
"$train" "${common[@]}" "${schedule[@]}" --checkpoint ck >ck.log 2>ck.err || status=$?
[[ $status -eq 3 ]] || fail "the diverging checkpointed run exited with $status: $(cat ck.err)"
grep -q "^error: training diverged at epoch 2, step" ck.err || fail "epoch 2 should diverge: $(cat ck.err)"
grep -q "ck/checkpoint.safetensors was not written after the divergence" ck.err || fail "no word on the checkpoint"
[[ -f ck/checkpoint.safetensors && ! -e ck/checkpoint.safetensors.tmp ]] || fail "checkpoint missing or a temporary left"
before=$(sha256sum <ck/checkpoint.safetensors)
status=0
"$train" "${common[@]}" "${schedule[@]}" --resume ck >resume.log 2>resume.err || status=$?
[[ $status -eq 3 ]] || fail "the resumed run exited with $status: $(cat resume.err)"
grep -q "resumed from ck/checkpoint.safetensors: 1 epochs done" resume.log || fail "the checkpoint is not epoch 1's: $(cat resume.log)"
[[ "$(sha256sum <ck/checkpoint.safetensors)" == "$before" ]] || fail "the checkpoint was rewritten by a diverging run"
if [[ -n "$predict" ]]; then
  { printf 'P6\n32 32\n255\n'; head -c 3073 data/test_batch.bin | tail -c 3072; } >image.ppm
  "$predict" --model ck/checkpoint.safetensors --top-k 10 image.ppm >predict.log 2>&1 || fail "predict: $(cat predict.log)"
  ! grep -qi "nan" predict.log || fail "the checkpoint holds non-finite weights: $(cat predict.log)"
  [[ $(grep -Ec '^ +[0-9]+\. .* [01]\.[0-9]{4}$' predict.log) -eq 10 ]] || fail "predict: $(cat predict.log)"
fi
echo "ok: the epoch-1 checkpoint survives a diverging epoch 2, bit for bit"

status=0
"$train" "${common[@]}" "${schedule[@]}" --on-nan skip >skip.log 2>skip.err || status=$?
[[ $status -eq 3 ]] || fail "--on-nan skip on diverged weights exited with $status: $(cat skip.err)"
grep -q "batch left out" skip.err || fail "--on-nan skip did not skip: $(cat skip.err)"
grep -q "^error: training diverged at epoch 2, step 7 of 8: the loss is .*, 6 non-finite batches in a row" skip.err ||
  fail "--on-nan skip should stop after 5 skipped batches in a row: $(cat skip.err)"
echo "ok: --on-nan skip leaves batches out, and stops after 5 non-finite batches in a row"

synthetic_fer2013 fer 128 32 32
status=0
"$train_fer" --data-dir fer --train-limit 128 --test-limit 64 --batch-size 32 --threads 2 --optimizer sgd --lr 1e30 \
  --epochs 2 --save fer.safetensors >fer.log 2>fer.err || status=$?
[[ $status -eq 3 ]] || fail "train_fer2013 --lr 1e30 exited with $status: $(cat fer.err)"
grep -Eq "^error: training diverged at epoch 1, step [0-9]+ of 4: the loss is (nan|inf|-inf); the last finite loss was" fer.err ||
  fail "train_fer2013: unclear divergence message: $(cat fer.err)"
[[ ! -e fer.safetensors ]] || fail "train_fer2013 saved a model after the divergence"
echo "ok: train_fer2013 --lr 1e30 stops too: $(head -n 1 fer.err)"
