#!/usr/bin/env bash
# Side by side on the same machine, same images (tests/TestData/ocr, 24 rendered 640x480 screens), same PaddleOCR models:
# ours (the imageflowio CLI, Release) cold with 1 and 2 workers, then a re-run from the disk cache; the peer
# @gutenye/ocr-node 1.4.8 (install-peer.sh first) with 1 and 2 lanes. Prints accuracy (score.py) and time per image.
#   bench/ocr/run.sh [repeats=3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
repeats=${1:-3}
out=${BENCH_OUT:-$root/bench/results/ocr}
mkdir -p "$out"
export CI=true
dotnet build "$root/src/Cli" -c Release -nodeReuse:false -v q >/dev/null
cli="$root/src/Cli/bin/Release/net10.0/ImageFlowIO.Cli"
images="$root/tests/TestData/ocr"
n=$(ls "$images"/*.png | wc -l)
ms_of() { grep -oP '\((\d+) ms\)' | tail -1 | grep -oP '\d+'; }
for r in $(seq 1 "$repeats"); do
  for workers in 1 2; do
    rm -rf "$out/cache"
    ms=$("$cli" --config "$here/imageflow.json" --cache disk --cache-dir "$out/cache" --output "$out/ours" --concurrency "$workers" --no-progress --log-level warn | ms_of)
    echo "ours cold  workers=$workers run=$r: $ms ms for $n images ($(echo "scale=1; $ms/$n" | bc) ms per image)"
    if [ "$workers" = 1 ]; then cp "$here/meta.json" "$out/ours-meta.json" 2>/dev/null || cp "$out/ours/meta.json" "$out/ours-meta.json" 2>/dev/null || true; fi
    ms=$("$cli" --config "$here/imageflow.json" --cache disk --cache-dir "$out/cache" --output "$out/ours" --concurrency "$workers" --no-progress --log-level warn | ms_of)
    echo "ours cache workers=$workers run=$r: $ms ms for $n images ($(echo "scale=1; $ms/$n" | bc) ms per image)"
    if [ -d "$here/peer/node_modules/@gutenye/ocr-node" ]; then
      cp "$here/peer.mjs" "$here/peer/peer.mjs"
      node "$here/peer/peer.mjs" "$images" "$workers" "$out/peer-$workers.json"
    fi
  done
done
echo "== accuracy: ours"
/usr/bin/python3 "$here/score.py" "$out/ours-meta.json"
if [ -f "$out/peer-1.json" ]; then echo "== accuracy: @gutenye/ocr-node 1.4.8"; /usr/bin/python3 "$here/score.py" "$out/peer-1.json"; fi
