#!/usr/bin/env bash
# End-to-end test of train_cifar10's persistence and of predict (run by ctest as
# examples.resume_and_predict):
#   resume_e2e.sh TRAIN_CIFAR10 PREDICT CIFAR10_DIR WORK_DIR
# 1. 4 epochs uninterrupted, --save            -> full.safetensors
# 2. 2 epochs with --checkpoint, then --resume to 4 epochs, --save -> byte-identical to 1
# 3. SIGINT after 11 steps (mid-epoch 2; the hidden --interrupt-after raises it in-process, so
#    the test does not depend on timing): exit status 130, a whole checkpoint, no temporary
#    file; --resume to 4 epochs -> byte-identical to 1
# 4. --resume with a different --lr is refused, naming the option
# 5. --torch-names; predict reads both namings, classifies a PGM image, and --eval
set -euo pipefail
train=$1 predict=$2 cifar=$3 work=$4
[[ -f "$cifar/test_batch.bin" ]] || { echo "SKIP: no CIFAR-10 in '$cifar' (get it with scripts/get-cifar10.sh)"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
cd "$work"
common=(--data "$cifar" --train-limit 256 --test-limit 100 --batch-size 32 --threads 2)
fail() { echo "FAIL: $*" >&2; exit 1; }

"$train" "${common[@]}" --epochs 4 --save full.safetensors >full.log
"$train" "${common[@]}" --epochs 2 --checkpoint ck >half.log
[[ -f ck/checkpoint.safetensors ]] || fail "no checkpoint after 2 epochs"
"$train" "${common[@]}" --epochs 4 --resume ck --save resumed.safetensors >resumed.log
grep -q "resumed from ck/checkpoint.safetensors: 2 epochs done" resumed.log || fail "resume message missing"
cmp full.safetensors resumed.safetensors || fail "resumed after 2 epochs: final weights differ from the uninterrupted run"
echo "ok: 2 + 2 epochs (resumed) == 4 epochs"

status=0
"$train" "${common[@]}" --epochs 4 --checkpoint ck2 --interrupt-after 11 >int.log || status=$?
[[ $status -eq 130 ]] || fail "interrupted run exited with $status, expected 130"
grep -q "interrupted: checkpoint written to ck2/checkpoint.safetensors after 3 of 8 batches of epoch 2" int.log ||
  fail "interrupt message missing: $(tail -n 2 int.log)"
[[ ! -e ck2/checkpoint.safetensors.tmp ]] || fail "temporary checkpoint file left behind"
"$train" "${common[@]}" --epochs 4 --resume ck2 --save resumed2.safetensors >resumed2.log
cmp full.safetensors resumed2.safetensors || fail "resumed after SIGINT mid-epoch: final weights differ"
# The resumed run reports the interrupted epoch's figures as the uninterrupted one did.
[[ "$(grep -E '^ +2 ' full.log | awk '{print $2, $3, $4, $5}')" == \
   "$(grep -E '^ +2 ' resumed2.log | awk '{print $2, $3, $4, $5}')" ]] || fail "epoch 2 figures differ after resume"
echo "ok: SIGINT mid-epoch + resume == uninterrupted"

status=0
"$train" "${common[@]}" --epochs 4 --resume ck2 --lr 0.01 >bad.log 2>&1 || status=$?
[[ $status -ne 0 ]] && grep -q -- "--lr" bad.log || fail "resume with a different --lr was not refused"
echo "ok: resume with other options refused"

"$train" "${common[@]}" --epochs 1 --save torch.safetensors --torch-names >torch.log
# A grey 32x32 PGM: the red plane of the first test image.
{ printf 'P5\n32 32\n255\n'; head -c 1025 "$cifar/test_batch.bin" | tail -c 1024; } >image.pgm
"$predict" --model full.safetensors --top-k 2 image.pgm >predict.log
grep -q "^  2\. " predict.log || fail "predict printed no top-2: $(cat predict.log)"
"$predict" --model torch.safetensors image.pgm >predict_torch.log
grep -q "torch names" predict_torch.log || fail "predict did not read torch names"
"$predict" --model full.safetensors --eval "$cifar" --test-limit 100 >eval.log
grep -q "test accuracy .* (.* / 100 images" eval.log || fail "predict --eval: $(cat eval.log)"
"$predict" --model ck2/checkpoint.safetensors image.pgm >predict_ck.log
grep -q "^checkpoint ck2/checkpoint.safetensors" predict_ck.log || fail "predict did not read a checkpoint"
echo "not an image" >bad.png
status=0
"$predict" --model full.safetensors bad.png >/dev/null 2>err.log || status=$?
[[ $status -eq 1 ]] && grep -q "cannot read image 'bad.png'" err.log || fail "predict accepted a file that is not an image"
echo "ok: predict"
