#!/usr/bin/env bash
# The ~30-line user program examples/train_seed_minimal.cpp (run by ctest as examples.seed_minimal):
#   seed_minimal_e2e.sh TRAIN_SEED_MINIMAL CIFAR10_DIR WORK_DIR
# On 320 CIFAR-10 images: an uninterrupted run; a run sent Ctrl-C once its first checkpoint is
# there (exit 130, or 0 if it had already finished), then --resume: the saved models are the same
# bytes; a resume of a finished run trains nothing.
set -euo pipefail
train=$1 cifar=$2 work=$3
source "$(dirname "${BASH_SOURCE[0]}")/../support/require_data.sh"
require_cifar10 "$cifar"
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work/full" "$work/cut"
cd "$work/full"
"$train" "$cifar" --fresh 320 >full.log || fail "the uninterrupted run failed: $(tail -n 3 full.log)"
[[ $(grep -Ec '^ +5 ' full.log) -eq 1 ]] || fail "no epoch 5 line: $(cat full.log)"
cd "$work/cut"
"$train" "$cifar" --fresh 320 >cut.log &
pid=$!
for _ in $(seq 1 600); do [[ -f seed-checkpoint/checkpoint.safetensors ]] && break; sleep 0.05; done
kill -INT "$pid" 2>/dev/null || true
status=0
wait "$pid" || status=$?
[[ $status -eq 130 || $status -eq 0 ]] || fail "the interrupted run exited with $status: $(tail -n 3 cut.log)"
"$train" "$cifar" --resume 320 >resume.log || fail "--resume failed: $(tail -n 3 resume.log)"
grep -q "resumed from seed-checkpoint/checkpoint.safetensors" resume.log || fail "no resume line: $(cat resume.log)"
cmp -s seed.safetensors ../full/seed.safetensors || fail "the resumed run's model differs from the uninterrupted run's"
echo "ok: interrupted (exit $status) and resumed: the same model; $(grep resumed resume.log)"
"$train" "$cifar" --resume 320 >again.log || fail "resume of a finished run failed"
grep -q "5 epochs done" again.log || fail "a finished run's resume: $(cat again.log)"
echo "train_seed_minimal: OK"
