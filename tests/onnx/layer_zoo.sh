#!/usr/bin/env bash
# Every layer kind, numerically: onnx_layer_zoo writes a network with each of them as ONNX with
# ctnn's logits for 8 random images; check_onnx.py runs it in OpenCV (and ONNX Runtime when
# ORT_DIR holds it) and compares.   layer_zoo.sh ONNX_LAYER_ZOO WORK_DIR [ORT_DIR]
set -euo pipefail
zoo=$1 work=$2 ort=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
rm -rf "$work" && mkdir -p "$work"
"$zoo" "$work"
"$python" "$here/check_onnx.py" "$work/zoo.onnx" --floats "$work/zoo_input.bin" --expect "$work/zoo_logits.txt" \
  ${ort:+--ort-dir "$ort"} | tee "$work/check.log"
