#!/usr/bin/env bash
# A process that throws ends the whole MPI job, with its message, within seconds.
#   abort_test.sh MPIEXEC_COMMAND... -- PROGRAM
# Passes when the job exits non-zero, its output holds "ctnn: process 1 of 2: synthetic failure",
# and it took under 20 s (the CTest timeout is a backstop: a hang is a failure, not a pass).
set -u
launcher=()
while [[ $# -gt 0 && "$1" != "--" ]]; do launcher+=("$1"); shift; done
shift
program=$1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s%N)
timeout 60 "${launcher[@]}" "$program" >"$log" 2>&1
status=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$log"
echo "abort_test: exit status $status after ${elapsed_ms} ms"
if [[ $status -eq 124 ]]; then echo "abort_test: FAIL: the job hung (killed by timeout after 60 s)"; exit 1; fi
if [[ $status -eq 0 ]]; then echo "abort_test: FAIL: the job exited 0"; exit 1; fi
if ! grep -q "ctnn: process 1 of 2: synthetic failure at step 3 (bad data)" "$log"; then
  echo "abort_test: FAIL: the failing process's message is not in the output"; exit 1
fi
if grep -q "process 0 finished" "$log"; then echo "abort_test: FAIL: process 0 ran to the end"; exit 1; fi
if (( elapsed_ms >= 20000 )); then echo "abort_test: FAIL: took ${elapsed_ms} ms (expected under 20 s)"; exit 1; fi
echo "abort_test: PASS"
