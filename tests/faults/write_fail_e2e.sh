#!/usr/bin/env bash
# A write that fails while saving (run by ctest as faults.write_fail):
#   write_fail_e2e.sh TRAIN_CIFAR10 WORK_DIR
# A file-size limit (ulimit -f: writes past it fail with EFBIG, as on a full disk; the trainers
# ignore SIGXFSZ so that the write fails instead of the process being killed) while train_cifar10
# writes a checkpoint, the final model (--save) or the metrics (--metrics): exit status 1, an error
# naming the file, the previous file byte-identical, and no temporary file left beside it.
set -euo pipefail
train=$1 work=$2
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fault_test_in "$work" 128 64
common=(--data data --train-limit 128 --test-limit 64 --batch-size 32 --threads 2)

# The files as a good run leaves them.
"$train" "${common[@]}" --epochs 1 --checkpoint ck --save model.safetensors --metrics m.csv >good.log 2>&1 ||
  fail "the first run failed: $(tail -n 3 good.log)"
sum() { sha256sum "$1" | cut -d' ' -f1; }
# limited BLOCKS LOG ARGS...: train_cifar10 ARGS under ulimit -f BLOCKS (1 KiB each); its output
# reaches LOG through a pipe, which the limit does not cover. Sets $status.
limited() {
  local blocks=$1 log=$2
  shift 2
  set +e
  ( ulimit -f "$blocks"; exec "$train" "$@" 2>&1 ) | cat >"$log"
  status=${PIPESTATUS[0]}
  set -e
}
ck=$(sum ck/checkpoint.safetensors) model=$(sum model.safetensors) metrics=$(sum m.csv)
half() { echo $(( $(stat -c %s "$1") / 1024 / 2 )); }  # KiB: half the file, whose write must then fail

# refused FILE SUM LOG: the run logged in LOG exited 1 with an error naming FILE, FILE still has
# SUM, and no FILE.tmp is left.
refused() {
  local file=$1 previous=$2 log=$3
  [[ $status -eq 1 ]] || fail "a failing write of $file exited with $status: $(cat "$log")"
  grep -qF "error: cannot save '$file': writing its temporary file '$file.tmp' failed: File too large; '$file' was left as it was" "$log" ||
    fail "unclear message: $(cat "$log")"
  [[ $(sum "$file") == "$previous" ]] || fail "the previous $file was changed"
  [[ ! -e $file.tmp ]] || fail "a temporary file $file.tmp was left behind"
  echo "ok: $(grep error: "$log")"
}

# 1. The checkpoint after epoch 2 (resumed) cannot be written.
limited "$(half ck/checkpoint.safetensors)" ck.err "${common[@]}" --epochs 2 --resume ck
refused ck/checkpoint.safetensors "$ck" ck.err

# 2. The final model (--save) cannot be written (no checkpoint: only the model is large).
limited "$(half model.safetensors)" save.err "${common[@]}" --epochs 1 --save model.safetensors
refused model.safetensors "$model" save.err

# 3. The metrics file cannot be written (a limit below its size: 0 blocks).
limited 0 metrics.err "${common[@]}" --epochs 1 --metrics m.csv
refused m.csv "$metrics" metrics.err
