#!/usr/bin/env bash
# Learning curves from train_cifar10 metrics files, drawn by gnuplot as PNG and SVG.
#
#   scripts/plot_metrics.sh OUTDIR RUN.csv[=LABEL] [RUN.csv[=LABEL] ...]
#
# Writes into OUTDIR:
#   loss.png/.svg         train (solid) and test (dashed) loss per epoch, one colour per run
#   accuracy.png/.svg     train (solid) and test (dashed) accuracy per epoch
#   train_loss, test_loss, train_acc, test_acc (.png/.svg): one line per run, for comparing
#                         the settings of a sweep
# LABEL defaults to the file name without .csv. Needs gnuplot with the pngcairo and svg
# terminals (Debian: apt-get install gnuplot-nox).
set -euo pipefail
prog=scripts/plot_metrics.sh
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 2; }

[[ $# -ge 2 ]] || die "usage: $prog OUTDIR RUN.csv[=LABEL] [RUN.csv[=LABEL] ...]"
command -v gnuplot >/dev/null 2>&1 || die "gnuplot is not installed (Debian: sudo apt-get install gnuplot-nox)"
out=$1; shift
mkdir -p "$out"

header="epoch,train_loss,train_acc,test_loss,test_acc,seconds,images_per_second"
files=(); labels=()
for arg in "$@"; do
  file=${arg%%=*}
  if [[ "$arg" == *=* ]]; then label=${arg#*=}; else label=$(basename "$file" .csv); fi
  [[ -f "$file" ]] || die "metrics file '$file' does not exist"
  first=$(head -n 1 "$file" | tr -d '\r')
  [[ "$first" == "$header" ]] || die "'$file' line 1: expected the header '$header', found '$first'"
  [[ $(wc -l <"$file") -ge 2 ]] || die "'$file' has a header but no epoch rows"
  [[ "$label" != *\"* ]] || die "label '$label' must not contain a double quote"
  files+=("$file"); labels+=("$label")
done

# One gnuplot program per figure; both terminals draw the same plot commands.
plot() {  # plot NAME YLABEL PLOTCMDS
  local name=$1 ylabel=$2 cmds=$3
  for term in png svg; do
    local setterm
    if [[ $term == png ]]; then setterm="set terminal pngcairo size 900,560 noenhanced font 'sans,11'"
    else setterm="set terminal svg size 900,560 noenhanced font 'sans,11' background rgb 'white'"; fi
    # (gnuplot's notes on one-epoch ranges are dropped; real errors still show)
    gnuplot 2> >(grep -v '^Warning: empty [xy] range' >&2) <<GP || die "gnuplot failed drawing $name.$term"
$setterm
set output '$out/$name.$term'
set datafile separator ','
set key outside right top
set grid
set xlabel 'epoch'
set ylabel '$ylabel'
set xtics 1
$cmds
GP
  done
}

series() {  # series COLUMN DASHTYPE TITLE_SUFFIX -> one plot clause per run
  local col=$1 dt=$2 suffix=$3 clause="" i
  for i in "${!files[@]}"; do
    [[ -n "$clause" ]] && clause+=", "
    clause+="'${files[$i]}' using 1:$col skip 1 with linespoints lc $((i + 1)) dt $dt pt 7 ps 0.6 title \"${labels[$i]}$suffix\""
  done
  printf '%s' "$clause"
}

plot loss "cross-entropy loss" "plot $(series 2 1 ' train'), $(series 4 2 ' test')"
plot accuracy "accuracy (%)" "plot $(series 3 1 ' train' | sed 's/using 1:3/using 1:(100*\$3)/g'), $(series 5 2 ' test' | sed 's/using 1:5/using 1:(100*\$5)/g')"
plot train_loss "train loss" "plot $(series 2 1 '')"
plot test_loss "test loss" "plot $(series 4 1 '')"
plot train_acc "train accuracy (%)" "plot $(series 3 1 '' | sed 's/using 1:3/using 1:(100*\$3)/g')"
plot test_acc "test accuracy (%)" "plot $(series 5 1 '' | sed 's/using 1:5/using 1:(100*\$5)/g')"
echo "$prog: wrote loss, accuracy, train_loss, test_loss, train_acc, test_acc (.png, .svg) to $out"
