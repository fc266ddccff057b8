#!/usr/bin/env bash
# Installs ONNX Runtime for Node (npm package onnxruntime-node, CPU build) into DIR, the second
# ONNX consumer of the onnx.* tests, unless it is there already:
#   install_onnxruntime.sh DIR        (by hand: npm install --prefix DIR --ignore-scripts onnxruntime-node)
# --ignore-scripts: the package ships its CPU binaries; its install script only fetches optional
# GPU libraries from outside the npm registry. Exits 77 (CTest: skipped) when npm is absent or
# the registry cannot be reached; the onnx.* tests then check with OpenCV alone.
set -euo pipefail
dir=$1
version=1.30.0
if [[ -f $dir/node_modules/onnxruntime-node/package.json ]]; then
  echo "onnxruntime-node $(sed -nE 's/^ *"version": "([^"]+)".*/\1/p' "$dir/node_modules/onnxruntime-node/package.json") already in $dir"
  exit 0
fi
command -v npm >/dev/null && command -v node >/dev/null ||
  { echo "SKIP: node and npm are needed for ONNX Runtime (Debian: apt-get install nodejs npm)"; exit 77; }
mkdir -p "$dir"
if ! timeout 600 npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel error \
     "onnxruntime-node@$version" >"$dir/npm.log" 2>&1; then
  cat "$dir/npm.log"
  rm -rf "$dir/node_modules"
  echo "SKIP: npm install onnxruntime-node@$version into $dir failed (see above)"
  exit 77
fi
node -e "require('$dir/node_modules/onnxruntime-node')" || { echo "FAIL: onnxruntime-node does not load"; exit 1; }
echo "installed onnxruntime-node $version into $dir"
