#!/usr/bin/env bash
# Start-up benchmark of the imageflowio CLI (issue 15): `--version`, a fully disk-cached run of 1 image and of 40 images,
# each in a new process, median of N re-runs (interleaved across CLIs) after one cold run that fills the cache; with
# --w1 also the cold W1 run over every image with no cache (`w1`), a cold run with the disk cache (`cold240`) and its
# re-run (`cached240`). Wall and CPU ms. Every CLI given is measured side by side in this one run (the machine is
# shared: compare within a run, not across runs).
#   bench/startup/run.sh [-n 10] [--images /tmp/bench-imgs] [--w1] NAME=COMMAND ...
#   e.g. bench/startup/run.sh jit="dotnet src/Cli/bin/Release/net10.0/ImageFlowIO.Cli.dll" r2r=/tmp/r2r/ImageFlowIO.Cli
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
runs=10
images=/tmp/bench-imgs
w1=
while [[ $# -gt 0 && "$1" == -* ]]; do
  case "$1" in
    -n) runs="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    --w1) w1=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [-n N] [--images DIR] NAME=COMMAND ..." >&2; exit 2; }
[[ -d "$images" ]] || { echo "no images in $images: /usr/bin/python3 tools/testdata/make_bench_images.py $images 240" >&2; exit 2; }

work="$(mktemp -d /tmp/ifio-startup.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/one" "$work/forty" "$work/all"
all=("$images"/*.jpg)
cp "${all[0]}" "$work/one/"
cp "${all[@]:0:40}" "$work/forty/"
[[ -n "$w1" ]] && cp "${all[@]}" "$work/all/"
cp "$repo/tests/TestData/models/conv3_nchw.onnx" "$work/model.onnx"

config() { # $1 input folder, $2 output folder
  cat <<JSON
{
  "model": { "name": "conv3", "path": "model.onnx" },
  "input": { "type": "image", "source": "$1" },
  "preprocessing": {
    "resize": { "apply": true, "imageSize": [320, 320], "keepAspectRatio": false, "kernel": "cubic" },
    "format": { "dataType": "float32", "channels": 3, "channelOrder": "rgb" },
    "normalize": { "apply": true, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] }
  },
  "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
  "execution": { "useCaching": "disk" },
  "output": { "save": { "apply": true, "path": "$2", "format": "png" } }
}
JSON
}

measure() { # runs "$@" once in a new process; prints "wall_ms cpu_ms" (cpu = user + sys of it and its children)
  local TIMEFORMAT='%3R %3U %3S' t
  t=$( { time "$@" >/dev/null 2>&1; } 2>&1 ) || { echo "FAILED: $*" >&2; return 1; }
  awk '{printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000}' <<<"$t"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

names=(); clis=()
for spec in "$@"; do names+=("${spec%%=*}"); clis+=("${spec#*=}"); done
declare -A samples
for k in "${!names[@]}"; do
  name="${names[$k]}"; read -r -a cli <<<"${clis[$k]}"
  for set in one forty all; do
    config "$set" "out-$name-$set" >"$work/$name-$set.json"
    rm -rf "$work/cache-$name-$set"
  done
  # Cold runs fill each CLI's own cache (one each: a cold run is seconds, not start-up).
  read -r w c < <(measure "${cli[@]}" -c "$work/$name-one.json" --cache-dir "$work/cache-$name-one" --no-progress); samples[$name,cold1]="$w $c"
  read -r w c < <(measure "${cli[@]}" -c "$work/$name-forty.json" --cache-dir "$work/cache-$name-forty" --no-progress); samples[$name,cold40]="$w $c"
  if [[ -n "$w1" ]]; then
    read -r w c < <(measure "${cli[@]}" -c "$work/$name-all.json" --cache none --no-progress); samples[$name,w1]="$w $c"
    read -r w c < <(measure "${cli[@]}" -c "$work/$name-all.json" --cache-dir "$work/cache-$name-all" --no-progress); samples[$name,cold240]="$w $c"
  fi
done
# Re-runs interleaved round by round, so a change in the machine's load hits every CLI alike.
for ((r = 0; r < runs; r++)); do
  for k in "${!names[@]}"; do
    name="${names[$k]}"; read -r -a cli <<<"${clis[$k]}"
    read -r w c < <(measure "${cli[@]}" --version); samples[$name,version]+=" $w:$c"
    read -r w c < <(measure "${cli[@]}" -c "$work/$name-one.json" --cache-dir "$work/cache-$name-one" --no-progress); samples[$name,cached1]+=" $w:$c"
    read -r w c < <(measure "${cli[@]}" -c "$work/$name-forty.json" --cache-dir "$work/cache-$name-forty" --no-progress); samples[$name,cached40]+=" $w:$c"
    if [[ -n "$w1" ]]; then read -r w c < <(measure "${cli[@]}" -c "$work/$name-all.json" --cache-dir "$work/cache-$name-all" --no-progress); samples[$name,cached240]+=" $w:$c"; fi
  done
done

cell() { # median wall/cpu of the samples of $1,$2 ("w c" once, or " w:c w:c ...")
  local v="${samples[$1,$2]:-}"
  if [[ "$v" == *:* ]]; then
    printf '%s/%s' "$(tr ' ' '\n' <<<"$v" | grep : | cut -d: -f1 | median)" "$(tr ' ' '\n' <<<"$v" | grep : | cut -d: -f2 | median)"
  else printf '%s' "${v/ //}"; fi
}
cols=(version cold1 cached1 cold40 cached40); [[ -n "$w1" ]] && cols+=(w1 cold240 cached240)
echo "wall_ms/cpu_ms; re-runs: median of $runs, interleaved; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s' cli; for c in "${cols[@]}"; do printf ' %14s' "$c"; done; echo
for name in "${names[@]}"; do
  printf '%-12s' "$name"; for c in "${cols[@]}"; do printf ' %14s' "$(cell "$name" "$c")"; done; echo
done
