#!/usr/bin/env bash
# train_cifar10 under mpirun (ctest: examples.mpi_train_cifar10; docs/mpi.md):
#   mpi_e2e.sh MPIEXEC_COMMAND... -- TRAIN_CIFAR10 CIFAR10_DIR WORK_DIR
# On 640 CIFAR-10 images, seed network (SGD, lr 0.001), 2 epochs, 1 thread per process:
#  - 2 processes with --sync-bn on give the one-process run's figures (test loss within 1e-4
#    relative, accuracies within 0.2 points), printed once (process 0) with each convolution's
#    algorithm note, metrics and model written;
#  - SIGUSR1 to mpirun after the first checkpoint stops both processes at the same batch with a
#    checkpoint (exit 130); --resume under mpirun then saves the same model bytes as an
#    uninterrupted 2-process run;
#  - a global batch that does not divide by 2 ends both processes with the error, not a hang.
set -euo pipefail
launcher=()
while [[ $# -gt 0 && "$1" != "--" ]]; do launcher+=("$1"); shift; done
shift
train=$1 cifar=$2 work=$3
source "$(dirname "${BASH_SOURCE[0]}")/../support/require_data.sh"
require_cifar10 "$cifar"
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
cd "$work"
# SGD at a small lr: at lr 0.01 (or with Adam, which turns the noise-level gradients of the conv
# biases before BatchNorm into full steps) the two runs' 1e-7 differences of summation order grow
# to 1e-3 within 20 steps: measured, chaos of the training, not of the data-parallel sums.
base=(--data "$cifar" --model seed --epochs 2 --train-limit 640 --test-limit 500 --threads 1 --adapt-threads off
      --optimizer sgd --lr 0.001)
common=("${base[@]}" --batch-size 64)
mpi() { timeout 300 "${launcher[@]}" "$train" "$@"; }

OMP_NUM_THREADS=1 timeout 300 "$train" "${common[@]}" --metrics one.csv >one.log 2>&1 || fail "one process: $(tail -n 5 one.log)"
mpi "${common[@]}" --sync-bn on --metrics two.csv --save two.safetensors >two.log 2>&1 || fail "2 processes: $(tail -n 5 two.log)"
cat two.log
grep -q "data-parallel: 2 processes of 1 threads, 32 of each global batch of 64 per process" two.log \
  || fail "no data-parallel line"
[[ $(grep -Ec '^ +2 +[0-9.]+ +[0-9.]+%' two.log) -eq 1 ]] || fail "epoch 2 printed $(grep -Ec '^ +2 +[0-9.]+ +[0-9.]+%' two.log) times (expected once: process 0)"
[[ -f two.safetensors ]] || fail "no model saved"
grep -q "^ctnn: Conv " two.log || fail "no convolution algorithm note"
repeated=$(grep "^ctnn: Conv " two.log | sort | uniq -d)
[[ -z "$repeated" ]] || fail "a convolution algorithm note was printed by more than one process: $repeated"
# epoch,train_loss,train_acc,test_loss,test_acc,...: the 2-process figures against one process's
paste -d, <(tail -n +2 one.csv) <(tail -n +2 two.csv) | awk -F, -v n="$(head -1 one.csv | tr ',' '\n' | wc -l)" '
  { for (c = 2; c <= 5; ++c) {
      a = $c; b = $(c + n); d = a - b; if (d < 0) d = -d
      if (c == 4 && d > 1e-4 * (a < 0 ? -a : a)) { printf "epoch %s: test loss %s vs %s\n", $1, a, b; bad = 1 }
      if ((c == 3 || c == 5) && d > 0.002) { printf "epoch %s: accuracy column %d %s vs %s\n", $1, c, a, b; bad = 1 }
    } rows++ }
  END { if (rows != 2) { print "expected 2 epochs, got " rows; bad = 1 } exit bad }' \
  || fail "the 2-process figures differ from one process's (one.csv, two.csv above)"
echo "ok: 2 processes with --sync-bn on match one process: $(tail -n 1 two.csv)"

# Stop with SIGUSR1 once the first checkpoint is there, then resume: the same model bytes.
mpi "${common[@]}" --save whole.safetensors >whole.log 2>&1 || fail "uninterrupted run: $(tail -n 5 whole.log)"
"${launcher[@]}" "$train" "${common[@]}" --save cut.safetensors --checkpoint ck >cut.log 2>&1 &
pid=$!  # mpirun itself (not through timeout, which would not pass SIGUSR1 on); ctest's TIMEOUT guards
for _ in $(seq 1 1200); do [[ -f ck/checkpoint.safetensors ]] && break; sleep 0.05; done
kill -USR1 "$pid" 2>/dev/null || true
status=0
wait "$pid" || status=$?
cat cut.log
[[ $status -eq 130 || $status -eq 0 ]] || fail "the interrupted run exited with $status"
mpi "${common[@]}" --save cut.safetensors --resume ck >resume.log 2>&1 || fail "--resume: $(tail -n 5 resume.log)"
grep -q "resumed from ck/checkpoint.safetensors" resume.log || fail "no resume line: $(cat resume.log)"
cmp -s cut.safetensors whole.safetensors || fail "the resumed 2-process model differs from the uninterrupted one"
echo "ok: stopped (exit $status) and resumed under mpirun: the same model bytes"

# A global batch that does not divide: both processes end with the message.
status=0
mpi "${base[@]}" --batch-size 33 >odd.log 2>&1 || status=$?
[[ $status -ne 0 && $status -ne 124 ]] || fail "--batch-size 33 under 2 processes exited with $status"
grep -q "global batch size 33 does not divide by the 2 processes" odd.log || fail "no divisibility message: $(cat odd.log)"
echo "ok: --batch-size 33 refused: $(grep -m1 'does not divide' odd.log)"
echo "mpi_e2e: OK"
