#!/usr/bin/env bash
# --resume from a checkpoint that does not belong to this run (run by ctest as faults.checkpoint_mismatch):
#   checkpoint_mismatch_e2e.sh TRAIN_CIFAR10 WORK_DIR [PREDICT]
# On synthetic CIFAR-10 files: a checkpoint of the seed preset, Adam, 2 threads, then --resume with
# another preset (seed3, airbench), another optimizer, another option that shapes the run (--lr,
# --batch-size, --train-limit), another thread count (a warning: the run goes on but will not be
# bit-identical), a model file instead of a checkpoint, a truncated checkpoint, a file that is not
# safetensors, and an empty folder. Every refusal exits 1 and names what differs; none changes
# the checkpoint. With PREDICT: the checkpoint read as another architecture (--arch seed3) is
# refused, naming the file and the tensor.
set -euo pipefail
train=$1 work=$2 predict=${3:-}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fault_test_in "$work" 128 64
common=(--data data --train-limit 128 --test-limit 64 --batch-size 32)

"$train" "${common[@]}" --epochs 1 --threads 2 --checkpoint ck --save model.safetensors >good.log 2>&1 ||
  fail "the first run failed: $(tail -n 3 good.log)"
sum=$(sha256sum <ck/checkpoint.safetensors)

# refused ARGS... -- EXPECTED: --resume with ARGS must exit 1 with EXPECTED in its error.
refused() {
  local expected=${*: -1} status=0
  "$train" "${@:1:$#-1}" >refused.log 2>&1 || status=$?
  [[ $status -eq 1 ]] || fail "'${*:1:$#-1}' exited with $status, expected 1: $(tail -n 3 refused.log)"
  grep -qF -- "$expected" refused.log || fail "'${*:1:$#-1}': expected '$expected', got: $(grep error refused.log)"
  [[ "$(sha256sum <ck/checkpoint.safetensors)" == "$sum" ]] || fail "'${*:1:$#-1}' changed the checkpoint"
  echo "ok: refused: $(grep -m1 error: refused.log)"
}

refused "${common[@]}" --epochs 2 --threads 2 --resume ck --model seed3 \
  "the checkpoint was trained with --model seed, this run has --model seed3"
refused "${common[@]}" --epochs 2 --threads 2 --resume ck --model airbench --lookahead off \
  "the checkpoint was trained with --model seed, this run has --model airbench"
refused "${common[@]}" --epochs 2 --threads 2 --resume ck --optimizer sgd \
  "the checkpoint was trained with --optimizer adam, this run has --optimizer sgd"
refused "${common[@]}" --epochs 2 --threads 2 --resume ck --lr 0.01 "this run has --lr"
refused --data data --train-limit 128 --test-limit 64 --batch-size 64 --epochs 2 --threads 2 --resume ck \
  "the checkpoint was trained with --batch-size 32, this run has --batch-size 64"
refused --data data --train-limit 96 --test-limit 64 --batch-size 32 --epochs 2 --threads 2 --resume ck \
  "the checkpoint was trained with --train-limit 128, this run has --train-limit 96"

# Another network's checkpoint under the name: the tensors do not match (checked before anything changes).
mkdir -p other
"$train" --data data --train-limit 128 --test-limit 64 --batch-size 32 --epochs 1 --threads 2 --model seed3 \
  --checkpoint other >other.log 2>&1 || fail "seed3 run failed: $(tail -n 3 other.log)"
refused "${common[@]}" --epochs 2 --threads 2 --resume other "this run has --model seed"
# ... and with its recipe entries made to agree (only the tensors tell): a tensor mismatch.
mkdir -p forged && cp other/checkpoint.safetensors forged/
sed -i 's/"train.model":"seed3"/"train.model":"seed" /' forged/checkpoint.safetensors
refused "${common[@]}" --epochs 2 --threads 2 --resume forged "forged/checkpoint.safetensors"

# A model file, a truncated checkpoint, not safetensors, nothing.
mkdir -p model && cp model.safetensors model/checkpoint.safetensors
refused "${common[@]}" --epochs 2 --threads 2 --resume model "does not record --"
mkdir -p cut && head -c 5000 ck/checkpoint.safetensors >cut/checkpoint.safetensors
refused "${common[@]}" --epochs 2 --threads 2 --resume cut "cut/checkpoint.safetensors"
mkdir -p text && echo "not a checkpoint" >text/checkpoint.safetensors
refused "${common[@]}" --epochs 2 --threads 2 --resume text "text/checkpoint.safetensors"
mkdir -p empty
refused "${common[@]}" --epochs 2 --threads 2 --resume empty "--resume empty: no checkpoint there"

# Another thread count: a warning, and the run goes on.
cp -r ck ck1
"$train" "${common[@]}" --epochs 2 --threads 1 --resume ck1 >threads.log 2>&1 || fail "--threads 1 resume failed: $(tail -n 3 threads.log)"
grep -q "warning: the checkpoint was written with 2 threads, this run uses 1: the result will not be bit-identical" threads.log ||
  fail "no thread-count warning: $(head -n 5 threads.log)"
echo "ok: another thread count: $(grep warning: threads.log)"

if [[ -n "$predict" ]]; then
  { printf 'P6\n32 32\n255\n'; head -c 3073 data/test_batch.bin | tail -c 3072; } >image.ppm
  status=0
  "$predict" --model ck/checkpoint.safetensors --arch seed3 image.ppm >arch.log 2>&1 || status=$?
  [[ $status -eq 1 ]] || fail "predict --arch seed3 on a seed checkpoint exited with $status: $(cat arch.log)"
  grep -q "^error: safetensors file 'ck/checkpoint.safetensors' does not match the network" arch.log && grep -q "tensor '8.weight' has shape" arch.log || fail "unclear predict message: $(cat arch.log)"
  echo "ok: predict refuses another architecture: $(head -n 2 arch.log | tr "\n" " ")"
fi
