#!/usr/bin/env bash
# Build benchmark, before vs now (not a test): the same generated project of N photos (default 200) built with the task of
# an earlier commit (default 8c268c5) and with this tree's, in ONE run: no-change and one-edit builds alternate between
# the two (ABBA order per round, so a shared machine's drift falls on both alike); medians of wall and cpu ms; the load
# average is printed beside the numbers (other builds on the machine move them).
# Usage: bench/build/compare.sh [count] [runs] [base-commit]   env: BENCH_MODEL=ocr|conv3 (default ocr: the TextDetection
#        sample's config), BENCH_WORK=<scratch folder>, BENCH_ARGS=<extra dotnet build arguments for every build>
# Both tasks run in the MSBuild process (-p:ImageFlowBuildServer=false, a fresh MSBuild per build: -nodeReuse:false).
set -euo pipefail
COUNT=${1:-200}
RUNS=${2:-5}
BASE=${3:-8c268c5}
MODEL=${BENCH_MODEL:-ocr}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${BENCH_WORK:-${TMPDIR:-/tmp}/ifio-bench-compare}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0

rm -rf "$WORK" && mkdir -p "$WORK/images" "$WORK/edits"
echo "base $BASE: checking out and building its task (Release)..."
git -C "$REPO" worktree add --detach -f "$WORK/base-src" "$BASE" >/dev/null 2>&1
trap 'git -C "$REPO" worktree remove --force "$WORK/base-src" >/dev/null 2>&1 || true' EXIT
dotnet build "$WORK/base-src/src/Tasks/ImageFlowIO.Tasks.csproj" -c Release -v:q -nologo >/dev/null
echo "now: building this tree's task (Release)..."
dotnet build "$REPO/src/Tasks/ImageFlowIO.Tasks.csproj" -c Release -v:q -nologo >/dev/null

# COUNT assets plus RUNS photos the projects have never seen (an edit is new content, not a cache hit of another asset).
/usr/bin/python3 "$REPO/tools/testdata/make_bench_images.py" "$WORK/edits" "$((COUNT + RUNS))" >/dev/null
ls "$WORK/edits"/*.jpg | head -n "$COUNT" | xargs mv -t "$WORK/images"

# shellcheck source=bench/build/project.sh
source "$(dirname "$0")/project.sh"

# Prints "wall_ms cpu_ms" of one build (cpu = user + sys of dotnet and its children).
build() { # $1: folder
  local t
  # shellcheck disable=SC2086 # BENCH_ARGS: word-split on purpose
  t=$( { TIMEFORMAT='%R %U %S'; time dotnet build "$1/Bench.csproj" --no-restore -nodeReuse:false -v:q -nologo -p:ImageFlowBuildServer=false ${BENCH_ARGS:-} >>"$WORK/builds.log" || { echo "build failed: $1" >&2; exit 1; }; } 2>&1 )
  awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' <<<"$t"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

make_project "$WORK/base" "$WORK/base-src" "$WORK/base-src/src/Tasks/bin/Release/net10.0"
make_project "$WORK/now" "$REPO" "$REPO/src/Tasks/bin/Release/net10.0"
LOAD_START=$(load)
echo "cold builds ($COUNT assets, model: $MODEL; load $LOAD_START)..."
build "$WORK/base" >/dev/null
build "$WORK/now" >/dev/null

echo "no-change and one-edit builds, alternating (ABBA), $RUNS rounds..."
for f in base-nochange now-nochange base-edited now-edited; do : > "$WORK/$f.txt"; done
LOADS=""
for i in $(seq "$RUNS"); do
  if (( i % 2 )); then first=base; second=now; else first=now; second=base; fi
  build "$WORK/$first" >> "$WORK/$first-nochange.txt"
  build "$WORK/$second" >> "$WORK/$second-nochange.txt"
  # a real content change: a photo no build has seen over asset i (both projects read the same images/, each has its
  # own obj/ and cache, so each processes the edit)
  cp "$(ls "$WORK/edits"/*.jpg | sed -n "${i}p")" "$(ls "$WORK/images"/*.jpg | sed -n "${i}p")"
  build "$WORK/$second" >> "$WORK/$second-edited.txt"
  build "$WORK/$first" >> "$WORK/$first-edited.txt"
  LOADS+="$(load); "
done

col() { cut -d' ' -f"$2" "$WORK/$1.txt" | median; }
echo
echo "assets: $COUNT ($MODEL); medians of $RUNS; wall ms (cpu ms = user + sys); base $BASE vs now $(git -C "$REPO" rev-parse --short HEAD)"
printf '%-18s %18s %18s\n' "" "base $BASE" "now"
printf '%-18s %10s (%5s) %10s (%5s)\n' "no-change build" "$(col base-nochange 1)" "$(col base-nochange 2)" "$(col now-nochange 1)" "$(col now-nochange 2)"
printf '%-18s %10s (%5s) %10s (%5s)\n' "one edited image" "$(col base-edited 1)" "$(col base-edited 2)" "$(col now-edited 1)" "$(col now-edited 2)"
echo "load average (1/5/15 min): at start $LOAD_START; after each round: $LOADS"
echo "every build: $WORK/{base,now}-{nochange,edited}.txt"
