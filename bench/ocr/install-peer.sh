#!/usr/bin/env bash
# Installs the peer, @gutenye/ocr-node 1.4.8 (PaddleOCR det + rec on onnxruntime-node, sharp, opencv.js), from npm into
# bench/ocr/peer/ (ignored by git). Run once before run.sh; nothing is downloaded at test time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/peer"
cd "$here/peer"
[ -f package.json ] || echo '{ "type": "module", "private": true }' > package.json
npm install --ignore-scripts --no-audit --no-fund @gutenye/ocr-node@1.4.8
# The runner lives beside node_modules so Node resolves the package from it.
cp "$here/peer.mjs" "$here/peer/peer.mjs"
echo "installed: $(node -e 'console.log(require("./node_modules/@gutenye/ocr-node/package.json").version)')"
