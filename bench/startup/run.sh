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
. "$repo/bench/startup/common.sh"
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
