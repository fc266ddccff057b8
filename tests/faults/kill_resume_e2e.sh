#!/usr/bin/env bash
# kill -9 at random moments, then --resume, again and again (run by ctest as faults.kill_resume):
#   kill_resume_e2e.sh TRAIN_CIFAR10 WORK_DIR [SEED]
# On synthetic CIFAR-10 files (512 train / 128 test records; no data set needed), 3 epochs of the
# seed model with --checkpoint: a run is started (--resume once a checkpoint exists), killed
# with SIGKILL at a random moment (0.1 s up to two thirds of the uninterrupted run's duration,
# so every phase can be hit: start-up, training, evaluation, checkpoint writing, and a run seldom
# finishes before its kill), and started again, 6 times; then it runs to the end. Its final model must be byte-identical to an uninterrupted run's, and every checkpoint
# left by a kill must be whole (each --resume reads and checks it). SEED (default: from $RANDOM)
# is printed, to replay a failure.
set -euo pipefail
train=$1 work=$2 seed=${3:-$RANDOM}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fail() { echo "FAIL (seed $seed): $*" >&2; exit 1; }
fault_test_in "$work" 512 128
common=(--data data --train-limit 512 --test-limit 128 --epochs 3 --batch-size 32 --threads 2)
kills=6
RANDOM=$seed
echo "seed $seed"

t0=$(date +%s%N)
"$train" "${common[@]}" --save reference.safetensors >reference.log 2>&1 || fail "uninterrupted run: $(tail -n 3 reference.log)"
span_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "uninterrupted run: ${span_ms} ms"

killed=0 finished=0 resumed=0
for ((i = 1; i <= kills; ++i)); do
  args=("${common[@]}" --checkpoint ck --save final.safetensors)
  [[ -f ck/checkpoint.safetensors ]] && { args+=(--resume ck); resumed=$((resumed + 1)); }
  "$train" "${args[@]}" >"run$i.log" 2>&1 &
  pid=$!
  window=$(( span_ms * 2 / 3 > 200 ? span_ms * 2 / 3 - 100 : 100 ))
  ms=$(( 100 + (RANDOM * 32768 + RANDOM) % window ))
  delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then
    status=0
    { wait "$pid"; } 2>/dev/null || status=$?
    if [[ $status -eq 0 ]]; then
      # It had already exited when the kill came (a finished child that is not yet reaped can
      # still be signalled): the same as finishing before the kill.
      echo "run $i: finished just before the kill at ${delay} s"
      finished=1
      break
    fi
    [[ $status -eq 137 ]] || fail "run $i ended with $status, not by the kill: $(tail -n 3 "run$i.log")"
    killed=$((killed + 1))
    where=$(grep -Ec '^ +[0-9]+ +[0-9.]+ +[0-9.]+%' "run$i.log" || true)
    echo "run $i: killed after ${delay} s ($where epochs finished in this run)"
    rm -f final.safetensors  # a kill after --save: start over so the final file comes from the last run
  else
    wait "$pid" || fail "run $i failed: $(tail -n 3 "run$i.log")"
    echo "run $i: finished before the kill at ${delay} s"
    finished=1
    break
  fi
done
if [[ $finished -eq 0 ]]; then
  args=("${common[@]}" --checkpoint ck --save final.safetensors)
  [[ -f ck/checkpoint.safetensors ]] && { args+=(--resume ck); resumed=$((resumed + 1)); }
  "$train" "${args[@]}" >last.log 2>&1 || fail "the last run failed: $(tail -n 3 last.log)"
fi
cmp reference.safetensors final.safetensors ||
  fail "after $killed kills and $resumed resumes the final weights differ from the uninterrupted run's"
echo "ok: $killed kill -9s, $resumed resumes: final weights byte-identical to the uninterrupted run"
