#!/usr/bin/env bash
# End to end, one model preset: a short training run writes the model with --save and
# --save-onnx; predict --export-onnx writes the same ONNX bytes from the saved model; predict
# --logits gives ctnn's logits on the first 16 test images; check_onnx.py checks the ONNX file
# (onnx.checker, full check) and runs those images, as raw pixels / 255, in OpenCV's dnn and
# in ONNX Runtime when ORT_DIR holds it, comparing with ctnn's logits (1e-4 relative).
#   onnx_e2e.sh cifar10|fer2013 PRESET TRAINER PREDICT DATA_DIR WORK_DIR [ORT_DIR]
# Exits 77 (CTest: skipped) without the data set or the Python modules.
set -euo pipefail
dataset=$1 preset=$2 train=$3 predict=$4 data=$5 work=$6 ort=${7:-}
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$here/../support/require_data.sh"

"$python" -c "import onnx, cv2, numpy" 2>/dev/null || {
  echo "SKIP: python3 modules onnx, cv2 and numpy are needed (Debian: apt-get install python3-onnx python3-opencv python3-numpy)"
  exit 77
}
if [[ $dataset == cifar10 ]]; then
  records=$data/test_batch.bin
  require_cifar10 "$data"
  run=("$train" --data "$data")
else
  records=$data/fer2013-test.bin
  require_fer2013 "$data"
  run=("$train" --data-dir "$data")
fi
rm -rf "$work" && mkdir -p "$work" && cd "$work"

# One short epoch (2 batches): the BatchNorm running statistics move away from their initial 0 and 1.
"${run[@]}" --model "$preset" --epochs 1 --train-limit 128 --test-limit 64 --batch-size 64 --tta 0 --threads 2 \
  --save model.safetensors --save-onnx model.onnx >train.log 2>&1 || { cat train.log; fail "training $preset failed"; }
grep -q "ONNX model written to model.onnx" train.log || fail "the trainer did not report --save-onnx"

"$predict" --model model.safetensors --export-onnx predict.onnx >export.log 2>&1 || { cat export.log; fail "predict --export-onnx failed"; }
cmp model.onnx predict.onnx || fail "predict --export-onnx and the trainer's --save-onnx wrote different files"

"$predict" --model model.safetensors --logits --eval "$data" --test-limit 16 >logits.txt 2>&1 ||
  { cat logits.txt; fail "predict --logits failed"; }

"$python" "$here/check_onnx.py" model.onnx --records "$records" --count 16 --expect logits.txt ${ort:+--ort-dir "$ort"} | tee check.log
