#!/usr/bin/env bash
# Runs two builds of the imageflowio CLI (e.g. the JIT-compiled one and a Native AOT or ReadyToRun publish) on the same
# configs over the same images, no cache, and compares every output file byte for byte; for PNGs that differ it prints
# how many 8-bit values differ and by how much (docs/performance.md, "Determinism"). Exit 1 when any exit code, file
# list or non-PNG file differs; PNG pixel differences are reported, and fail only with --exact.
#   bench/startup/compare-outputs.sh [--exact] [--images DIR] "dotnet src/Cli/bin/Release/net10.0/ImageFlowIO.Cli.dll" /tmp/aot/ImageFlowIO.Cli
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
exact=0; images="$repo/tests/TestData/images"
while [[ $# -gt 0 && "$1" == --* ]]; do
  case "$1" in --exact) exact=1; shift ;; --images) images="$2"; shift 2 ;; *) echo "unknown option $1" >&2; exit 2 ;; esac
done
[[ $# -eq 2 ]] || { echo "usage: $0 [--exact] [--images DIR] CLI_A CLI_B" >&2; exit 2; }
read -r -a cli_a <<<"$1"; read -r -a cli_b <<<"$2"
work="$(mktemp -d /tmp/ifio-compare.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp "$repo"/tests/TestData/models/{conv3_nchw,invert_nchw,identity_nchw}.onnx "$work/"

# model | resize kernel | output format | extra postprocessing
cases=(
  "conv3_nchw.onnx|cubic|png|"
  "conv3_nchw.onnx|lanczos3|png|"
  "invert_nchw.onnx|linear|png|"
  "identity_nchw.onnx|nearest|jpg|"
  "identity_nchw.onnx|linear|tiff|"
)
status=0
for i in "${!cases[@]}"; do
  IFS='|' read -r model kernel format _ <<<"${cases[$i]}"
  for side in a b; do
    cat >"$work/case$i-$side.json" <<JSON
{
  "model": { "name": "m", "path": "$model" },
  "input": { "type": "image", "source": "$images" },
  "preprocessing": {
    "resize": { "apply": true, "imageSize": [64, 64], "keepAspectRatio": false, "kernel": "$kernel" },
    "format": { "dataType": "float32", "channels": 3, "channelOrder": "rgb" },
    "normalize": { "apply": true, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] }
  },
  "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
  "output": { "save": { "apply": true, "path": "out$i-$side", "format": "$format" } }
}
JSON
  done
  set +e
  "${cli_a[@]}" -c "$work/case$i-a.json" --cache none --no-progress >"$work/log$i-a" 2>&1; rc_a=$?
  "${cli_b[@]}" -c "$work/case$i-b.json" --cache none --no-progress >"$work/log$i-b" 2>&1; rc_b=$?
  set -e
  [[ $rc_a -eq $rc_b ]] || { echo "case $i ($model $kernel $format): exit codes differ: $rc_a vs $rc_b"; status=1; }
  /usr/bin/python3 - "$work/out$i-a" "$work/out$i-b" "case $i ($model $kernel $format, exit $rc_a)" "$exact" <<'PY' || status=1
import os, sys, json
import numpy as np
from PIL import Image
a, b, label, exact = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
fa = sorted(os.listdir(a)) if os.path.isdir(a) else []
fb = sorted(os.listdir(b)) if os.path.isdir(b) else []
if fa != fb:
    print(f"{label}: file lists differ: {fa} vs {fb}"); sys.exit(1)
same = diff_files = values = differing = worst = 0
bad = False
for name in fa:
    pa, pb = open(os.path.join(a, name), "rb").read(), open(os.path.join(b, name), "rb").read()
    if name == "summary.json":  # holds timings: compare what was done, not how long it took
        ja, jb = json.loads(pa), json.loads(pb)
        keep = lambda j: [(r.get("input"), r.get("status"), r.get("error")) for r in j.get("results", [])]
        if keep(ja) != keep(jb): print(f"{label}: summary.json results differ"); bad = True
        continue
    if pa == pb: same += 1; continue
    diff_files += 1
    if name.endswith(".png"):
        ia, ib = np.asarray(Image.open(os.path.join(a, name))).astype(int), np.asarray(Image.open(os.path.join(b, name))).astype(int)
        if ia.shape != ib.shape: print(f"{label}: {name}: shapes differ"); bad = True; continue
        d = np.abs(ia - ib); values += d.size; differing += int((d > 0).sum()); worst = max(worst, int(d.max()))
        if exact: bad = True
    else:
        print(f"{label}: {name} differs byte-wise"); bad = True
print(f"{label}: {len(fa)} files, {same} identical, {diff_files} differ; differing 8-bit values {differing} (max |diff| {worst})")
sys.exit(1 if bad else 0)
PY
done
exit $status
