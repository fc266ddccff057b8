#!/usr/bin/env bash
# Timed accuracy runs for the results table: one train_cifar10 run per seed, each with its whole log
# under /usr/bin/time -v, its per-epoch metrics CSV and the trainer's *.final.csv, then a summary of
# every run and the mean and spread across them (summary.md, summary.csv).
#
#   scripts/speedrun.sh OUT_DIR "SEEDS" [train_cifar10 options...]
#   scripts/speedrun.sh results/zen5/airbench_muon "1 2 3" --model airbench_muon
#
# A seed whose final CSV already exists is not re-run. TRAIN_CIFAR10 names the binary (default
# build/bin/train_cifar10). Nothing else should run on the machine meanwhile: the times are the figures.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: scripts/speedrun.sh OUT_DIR \"SEEDS\" [train_cifar10 options...]" >&2; exit 2; }
out=$1 seeds=$2
shift 2
train=${TRAIN_CIFAR10:-build/bin/train_cifar10}
[[ -x "$train" ]] || { echo "scripts/speedrun.sh: $train is not built (cmake --build build --target train_cifar10)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "scripts/speedrun.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
mkdir -p "$out"

for seed in $seeds; do
  stem="$out/seed$seed"
  if [[ -f "$stem.final.csv" ]]; then echo "seed $seed: done before ($stem.final.csv)"; continue; fi
  echo "seed $seed: $train $* --seed $seed --metrics $stem.csv  (log: $stem.log)"
  /usr/bin/time -v "$train" "$@" --seed "$seed" --metrics "$stem.csv" >"$stem.log" 2>&1 ||
    { tail -n 30 "$stem.log" >&2; echo "scripts/speedrun.sh: seed $seed failed (log: $stem.log)" >&2; exit 1; }
done

# One row per seed: single-view accuracy after the last epoch, with the preset's TTA, the trainer's
# training and total seconds, the whole process's wall time (from time -v) and the mean img/s.
{
  echo "seed,test_acc,tta_acc,train_seconds,total_seconds,process_seconds,images_per_second"
  for seed in $seeds; do
    stem="$out/seed$seed"
    [[ -f "$stem.final.csv" ]] || continue
    single=$(tail -n 1 "$stem.csv" | cut -d, -f5)
    IFS=, read -r _ _ tta train_s total_s < <(tail -n 1 "$stem.final.csv")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$stem.log" |
           awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    ips=$(tail -n +2 "$stem.csv" | awk -F, '{ s += $7; n++ } END { printf "%.1f", s / n }')
    echo "$seed,$single,$tta,$train_s,$total_s,$wall,$ips"
  done
} >"$out/summary.csv"

awk -F, -v cmd="$train $* --seed S --metrics $out/seedS.csv" '
  NR == 1 { next }
  { n++; for (i = 2; i <= 7; i++) { v[n, i] = $i; s[i] += $i }; row[n] = $0 }
  END {
    print "Command: `" cmd "` under `/usr/bin/time -v`.\n"
    print "| seed | test acc | with TTA | training s | trainer total s | whole process s | img/s |"
    print "|---:|---:|---:|---:|---:|---:|---:|"
    for (k = 1; k <= n; k++) {
      split(row[k], f, ",")
      printf "| %s | %.2f %% | %.2f %% | %.0f | %.0f | %.0f | %.0f |\n", f[1], 100 * f[2], 100 * f[3], f[4], f[5], f[6], f[7]
    }
    if (n == 0) exit
    printf "| mean of %d | %.2f %% | %.2f %% | %.0f | %.0f | %.0f | %.0f |\n", n, 100 * s[2] / n, 100 * s[3] / n,
           s[4] / n, s[5] / n, s[6] / n, s[7] / n
    if (n > 1) {
      for (i = 2; i <= 3; i++) { m = s[i] / n; d = 0; for (k = 1; k <= n; k++) d += (v[k, i] - m) ^ 2; sd[i] = sqrt(d / (n - 1)) }
      printf "| std (n-1) | %.2f pp | %.2f pp | | | | |\n", 100 * sd[2], 100 * sd[3]
    }
  }' "$out/summary.csv" >"$out/summary.md"
cat "$out/summary.md"
