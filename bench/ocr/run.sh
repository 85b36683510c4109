#!/usr/bin/env bash
# Side by side on the same machine, same images (tests/TestData/ocr, 24 rendered 640x480 screens), same PaddleOCR models:
# ours (the imageflowio CLI, Release) cold with 1 and 2 workers, then a re-run from the disk cache; the peer
# @gutenye/ocr-node 1.4.8 (install-peer.sh first) with 1 and 2 lanes. Rounds interleave ours and the peer (their order
# flips every round) so a shared machine's load falls on both; the summary gives medians over the rounds, the load
# average each run started at, and accuracy (score.py).
#   bench/ocr/run.sh [rounds=3]
# Two times per run: "batch" is each tool's own timing (ours: the CLI's batch, sessions opened inside it; the peer:
# its detect calls after Ocr.create() and one warm-up image), "process" is the whole process's wall clock (start,
# model loading, everything) with its CPU time (user + sys) beside it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${1:-3}
out=${BENCH_OUT:-$root/bench/results/ocr}
mkdir -p "$out"
export CI=true
dotnet build "$root/src/Cli" -c Release -nodeReuse:false -v q >/dev/null
cli="$root/src/Cli/bin/Release/net10.0/ImageFlowIO.Cli"
images="$root/tests/TestData/ocr"
runs="$out/runs.tsv"
printf 'round\ttool\tworkers\tmode\tbatch_ms\tprocess_ms\tcpu_s\tload\n' > "$runs"
peer=false
if [ -d "$here/peer/node_modules/@gutenye/ocr-node" ]; then peer=true; cp "$here/peer.mjs" "$here/peer/peer.mjs"; fi

# timed <log> <command...>: runs it, prints "<process ms> <cpu s>" (its output goes to <log>).
timed() {
  local log=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -f '%U %S' -o "$log.time" "$@" > "$log" 2>&1
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000000 )) $(awk '{ print $1 + $2 }' "$log.time")"
}
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$runs"; echo "round $1 $2 workers=$3 $4: batch $5 ms, process $6 ms, cpu $7 s (load $8)"; }

ours() { # round workers
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  rm -rf "$out/cache" "$out/ours"
  read -r ms cpu < <(timed "$out/ours.log" "$cli" --config "$here/imageflow.json" --cache disk --cache-dir "$out/cache" --output "$out/ours" --concurrency "$2" --no-progress --log-level warn)
  record "$1" ours "$2" cold "$(grep -oP '\(\K\d+(?= ms\))' "$out/ours.log" | tail -1)" "$ms" "$cpu" "$load"
  [ "$2" = 1 ] && cp "$out/ours/meta.json" "$out/ours-meta.json"
  load=$(cut -d' ' -f1 /proc/loadavg)
  read -r ms cpu < <(timed "$out/ours.log" "$cli" --config "$here/imageflow.json" --cache disk --cache-dir "$out/cache" --output "$out/ours" --concurrency "$2" --no-progress --log-level warn)
  record "$1" ours "$2" cached "$(grep -oP '\(\K\d+(?= ms\))' "$out/ours.log" | tail -1)" "$ms" "$cpu" "$load"
}
thepeer() { # round lanes
  $peer || return 0
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  read -r ms cpu < <(cd "$here/peer" && timed "$out/peer.log" node peer.mjs "$images" "$2" "$out/peer-$2.json")
  record "$1" peer "$2" cold "$(grep -oP ', \K\d+(?= ms \()' "$out/peer.log")" "$ms" "$cpu" "$load"
}

for r in $(seq 1 "$rounds"); do
  for workers in 1 2; do
    if [ $((r % 2)) = 1 ]; then ours "$r" "$workers"; thepeer "$r" "$workers"; else thepeer "$r" "$workers"; ours "$r" "$workers"; fi
  done
done

/usr/bin/python3 - "$runs" "$(ls "$images"/*.png | wc -l)" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
n = int(sys.argv[2])
def med(tool, workers, mode, col):
    v = [float(r[col]) for r in rows if (r["tool"], r["workers"], r["mode"]) == (tool, workers, mode) and r[col]]
    return statistics.median(v) if v else None
loads = [float(r["load"]) for r in rows]
print(f"== medians over {max(int(r['round']) for r in rows)} rounds, {n} images; load average at the runs' start: "
      f"min {min(loads):.1f}, median {statistics.median(loads):.1f}, max {max(loads):.1f}")
for w in ("1", "2"):
    cold, cached, peer = med("ours", w, "cold", "batch_ms"), med("ours", w, "cached", "batch_ms"), med("peer", w, "cold", "batch_ms")
    pcold, ppeer = med("ours", w, "cold", "process_ms"), med("peer", w, "cold", "process_ms")
    ccold, cpeer = med("ours", w, "cold", "cpu_s"), med("peer", w, "cold", "cpu_s")
    line = f"{w} worker(s): ours cold {cold / n:.1f} ms/image (process {pcold / n:.1f}, cpu {ccold:.1f} s)"
    if peer:
        line += f" | peer {peer / n:.1f} ms/image (process {ppeer / n:.1f}, cpu {cpeer:.1f} s) | ratio batch {cold / peer:.2f}x, process {pcold / ppeer:.2f}x"
    line += f" | ours from the disk cache {cached:.0f} ms for all ({100 * cached / cold:.1f}% of cold)"
    print(line)
EOF
echo "== accuracy: ours"
/usr/bin/python3 "$here/score.py" "$out/ours-meta.json"
if [ -f "$out/peer-1.json" ]; then echo "== accuracy: @gutenye/ocr-node 1.4.8"; /usr/bin/python3 "$here/score.py" "$out/peer-1.json"; fi
