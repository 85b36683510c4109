#!/usr/bin/env bash
# Start-up benchmark of the imageflowio CLI (issue 15): `--version`, a fully disk-cached run of 1 image and of 40 images,
# each in a new process, median of N re-runs after one cold run that fills the cache. Every CLI given is measured side
# by side in this one run (the machine is shared: compare within a run, not across runs).
#   bench/startup/run.sh [-n 10] [--images /tmp/bench-imgs] NAME=COMMAND ...
#   e.g. bench/startup/run.sh jit="dotnet src/Cli/bin/Release/net10.0/ImageFlowIO.Cli.dll" r2r=/tmp/r2r/ImageFlowIO.Cli
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
runs=10
images=/tmp/bench-imgs
while [[ $# -gt 0 && "$1" == -* ]]; do
  case "$1" in
    -n) runs="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [-n N] [--images DIR] NAME=COMMAND ..." >&2; exit 2; }
[[ -d "$images" ]] || { echo "no images in $images: /usr/bin/python3 tools/testdata/make_bench_images.py $images 240" >&2; exit 2; }

work="$(mktemp -d /tmp/ifio-startup.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/one" "$work/forty"
all=("$images"/*.jpg)
cp "${all[0]}" "$work/one/"
cp "${all[@]:0:40}" "$work/forty/"
cp "$repo/tests/TestData/models/conv3_nchw.onnx" "$work/model.onnx"

config() { # $1 input folder, $2 output folder
  cat <<JSON
{
  "model": { "name": "conv3", "path": "model.onnx" },
  "input": { "type": "image", "source": "$1" },
  "preprocessing": {
    "resize": { "apply": true, "imageSize": [320, 320], "keepAspectRatio": false },
    "format": { "dataType": "float32", "channels": 3, "channelOrder": "rgb" },
    "normalize": { "apply": true, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] }
  },
  "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
  "execution": { "useCaching": "disk" },
  "output": { "save": { "apply": true, "path": "$2", "format": "png" } }
}
JSON
}

median_ms() { # runs "$@" $runs times in new processes; prints the median wall time in ms
  local times=()
  for ((i = 0; i < runs; i++)); do
    local t0 t1
    t0=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }; t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'
}

printf '%-10s %10s %12s %12s %12s %12s\n' cli version_ms cold1_ms cached1_ms cold40_ms cached40_ms
for spec in "$@"; do
  name="${spec%%=*}"; cmd="${spec#*=}"
  read -r -a cli <<<"$cmd"
  for set in one forty; do
    config "$set" "out-$name-$set" >"$work/$name-$set.json"
    rm -rf "$work/cache-$name-$set"
  done
  version=$(median_ms "${cli[@]}" --version)
  t0=$(date +%s%N); "${cli[@]}" -c "$work/$name-one.json" --cache-dir "$work/cache-$name-one" --no-progress >/dev/null 2>&1; cold1=$(( ($(date +%s%N) - t0) / 1000000 ))
  cached1=$(median_ms "${cli[@]}" -c "$work/$name-one.json" --cache-dir "$work/cache-$name-one" --no-progress)
  t0=$(date +%s%N); "${cli[@]}" -c "$work/$name-forty.json" --cache-dir "$work/cache-$name-forty" --no-progress >/dev/null 2>&1; cold40=$(( ($(date +%s%N) - t0) / 1000000 ))
  cached40=$(median_ms "${cli[@]}" -c "$work/$name-forty.json" --cache-dir "$work/cache-$name-forty" --no-progress)
  printf '%-10s %10s %12s %12s %12s %12s\n' "$name" "$version" "$cold1" "$cached1" "$cold40" "$cached40"
done
