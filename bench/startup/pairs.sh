#!/usr/bin/env bash
# Side by side, alternating, for the cold path (issue 25): each round runs every CLI once per measurement, in turn, so a
# change in the machine's load hits all alike; medians over the rounds. Wall and CPU (user + sys) ms per run.
#   w1        240 photos, no cache, default workers (cores)           w1_1w / w1_2w  the same with 1 / 2 workers, 1 ORT thread each
#   w1_1w_cores  the same with 1 worker and ONNX Runtime on every core (the product's choice for one worker)
#   cold1     1 photo, no cache (1 worker: ONNX Runtime gets every core)
#   cached1   1 photo from a full disk cache                          cached240  the 240 from a full disk cache
# Ends with the md5 of every PNG of the last w1 run of each CLI compared to the first CLI's (where they differ, their
# decoded pixels too: png-pixels.py).
#   bench/startup/pairs.sh [-n 5] [--images /tmp/bench-imgs] NAME=COMMAND ...
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
. "$repo/bench/startup/common.sh"
runs=5
images=/tmp/bench-imgs
while [[ $# -gt 0 && "$1" == -* ]]; do
  case "$1" in
    -n) runs="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [-n N] [--images DIR] NAME=COMMAND ..." >&2; exit 2; }
work="$(mktemp -d /tmp/ifio-pairs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/one" "$work/all"
all=("$images"/*.jpg)
cp "${all[0]}" "$work/one/"
cp "${all[@]}" "$work/all/"
cp "$repo/tests/TestData/models/conv3_nchw.onnx" "$work/model.onnx"

names=(); clis=()
for spec in "$@"; do names+=("${spec%%=*}"); clis+=("${spec#*=}"); done
declare -A samples
echo "start: $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
for k in "${!names[@]}"; do # each CLI's own disk cache, filled once (not measured)
  name="${names[$k]}"; read -r -a cli <<<"${clis[$k]}"
  config "$work/one" "$work/out-$name-one" >"$work/$name-one.json"
  config "$work/all" "$work/out-$name-all" >"$work/$name-all.json"
  "${cli[@]}" -c "$work/$name-one.json" --cache-dir "$work/cache-$name-one" --no-progress >/dev/null 2>&1
  "${cli[@]}" -c "$work/$name-all.json" --cache-dir "$work/cache-$name-all" --no-progress >/dev/null 2>&1
done
add() { samples[$1,$2]+=" $3:$4"; }
for ((r = 0; r < runs; r++)); do
  for k in "${!names[@]}"; do
    name="${names[$k]}"; read -r -a cli <<<"${clis[$k]}"
    rm -rf "$work/w1-$name"; read -r w c < <(measure "${cli[@]}" -c "$work/$name-all.json" --cache none -o "$work/w1-$name" --no-progress); add "$name" w1 "$w" "$c"
    rm -rf "$work/s1-$name"; read -r w c < <(measure "${cli[@]}" -c "$work/$name-all.json" --cache none -o "$work/s1-$name" --concurrency 1 --threads 1 --no-progress); add "$name" w1_1w "$w" "$c"
    rm -rf "$work/t2-$name"; read -r w c < <(measure "${cli[@]}" -c "$work/$name-all.json" --cache none -o "$work/t2-$name" --concurrency 1 --no-progress); add "$name" w1_1w_cores "$w" "$c"
    rm -rf "$work/s2-$name"; read -r w c < <(measure "${cli[@]}" -c "$work/$name-all.json" --cache none -o "$work/s2-$name" --concurrency 2 --threads 1 --no-progress); add "$name" w1_2w "$w" "$c"
    rm -rf "$work/c1-$name"; read -r w c < <(measure "${cli[@]}" -c "$work/$name-one.json" --cache none -o "$work/c1-$name" --no-progress); add "$name" cold1 "$w" "$c"
    read -r w c < <(measure "${cli[@]}" -c "$work/$name-one.json" --cache-dir "$work/cache-$name-one" --no-progress); add "$name" cached1 "$w" "$c"
    read -r w c < <(measure "${cli[@]}" -c "$work/$name-all.json" --cache-dir "$work/cache-$name-all" --no-progress); add "$name" cached240 "$w" "$c"
  done
done
cell() { local v="${samples[$1,$2]:-}"; printf '%s/%s' "$(tr ' ' '\n' <<<"$v" | grep : | cut -d: -f1 | median)" "$(tr ' ' '\n' <<<"$v" | grep : | cut -d: -f2 | median)"; }
cols=(w1 w1_1w w1_2w w1_1w_cores cold1 cached1 cached240)
echo "end: $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg); wall_ms/cpu_ms, median of $runs alternating rounds"
printf '%-8s' cli; for c in "${cols[@]}"; do printf ' %12s' "$c"; done; printf ' %14s %12s %12s\n' "1w/2w (wall)" "cached1/w1" "cached240/w1"
for name in "${names[@]}"; do
  printf '%-8s' "$name"; for c in "${cols[@]}"; do printf ' %12s' "$(cell "$name" "$c")"; done
  w1=$(cell "$name" w1); s1=$(cell "$name" w1_1w); s2=$(cell "$name" w1_2w); c1=$(cell "$name" cached1); c240=$(cell "$name" cached240)
  awk -v a="${s1%%/*}" -v b="${s2%%/*}" -v w="${w1%%/*}" -v x="${c1%%/*}" -v y="${c240%%/*}" 'BEGIN {printf " %14.3f %11.1f%% %11.1f%%\n", a / b, 100 * x / w, 100 * y / w}'
  printf '%-8s' "  rounds"; for c in w1 cold1 cached1; do printf '  %s:%s' "$c" "${samples[$name,$c]}"; done; echo
done
first="${names[0]}"
for name in "${names[@]:1}"; do
  if diff <(cd "$work/w1-$first" && md5sum *.png | sort -k2) <(cd "$work/w1-$name" && md5sum *.png | sort -k2) >/dev/null; then
    echo "outputs: $name's $(ls "$work/w1-$name"/*.png | wc -l) PNGs are byte-identical to $first's"
  else echo "outputs: $name's PNGs DIFFER from $first's in bytes; pixels: $("$repo/bench/startup/png-pixels.py" "$work/w1-$first" "$work/w1-$name" || true)"; fi
done
