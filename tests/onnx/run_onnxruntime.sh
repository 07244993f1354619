#!/usr/bin/env bash
# ctest's onnx.onnxruntime: runs the cases test_onnx_export left in CASES in ONNX Runtime and
# compares their outputs with ctnn's (compare_with_onnxruntime.js). Exits 77 (skipped) where
# Node.js or onnxruntime-node is missing.
#   run_onnxruntime.sh CASES ORT_DIR      (ORT_DIR holds node_modules/onnxruntime-node)
set -euo pipefail
cases=$1
ort=$2
if ! command -v node >/dev/null; then
  echo "SKIPPED: Node.js (node) is not installed; scripts/install-deps installs it"
  exit 77
fi
if [[ ! -f $ort/node_modules/onnxruntime-node/package.json ]]; then
  echo "SKIPPED: onnxruntime-node is not in $ort/node_modules; run scripts/install-onnxruntime (scripts/install-deps does)"
  exit 77
fi
NODE_PATH=$ort/node_modules exec node "$(dirname "$0")/compare_with_onnxruntime.js" "$cases"
