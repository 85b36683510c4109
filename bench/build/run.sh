#!/usr/bin/env bash
# Build benchmark (not a test): a generated project with N ImageFlowAsset photos (default 200) built with the repo's task.
#   no-change build        vs the same project built with -p:ImageFlowEnabled=false   (target: <= 1.05x)
#   one edited image       vs no-change + 1.5x one image's cold cost                   (target: <=)
#   (no-change, disabled and edit builds interleaved round by round; the edit also paired with the no-change before it)
#   cold build             (clean obj/bin and cache)
# Usage: bench/build/run.sh [count] [runs]    env: BENCH_MODEL=ocr|conv3 (default ocr: samples/TextDetection's config),
#        BENCH_TASK_DIR=<task folder> (default: build src/Tasks in Release and use its output), BENCH_WORK=<scratch folder>,
#        BENCH_ARGS=<extra dotnet build arguments for every build> (e.g. -p:ImageFlowCatalogue=false: no recompile per edit),
#        BENCH_MODES=<one or more of: plain ifio-server ifio-server-late msbuild-server> (default plain), one after the other:
#          plain           dotnet build -nodeReuse:false -p:ImageFlowBuildServer=false (a fresh MSBuild process per
#                          build, the task in it)
#          ifio-server     the same with -p:ImageFlowBuildServer=true (the task's work in ImageFlowIO's build server,
#                          handed over as CoreBuild starts and collected before the copy to bin/)
#          ifio-server-late  the build server without the early start (-p:ImageFlowBuildServerStartEarly=false)
#          msbuild-server  the SDK's MSBuild server (DOTNET_CLI_USE_MSBUILD_SERVER=1, node reuse on), ImageFlowIO's off
#        each server is shut down before its mode and at the end; BENCH_SERVER=1 is BENCH_MODES=msbuild-server;
#        BENCH_LOG=<file>: append every build's output there (with BENCH_ARGS=-v:d: the task's phase lines)
set -euo pipefail
COUNT=${1:-200}
RUNS=${2:-5}
MODEL=${BENCH_MODEL:-ocr}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${BENCH_WORK:-${TMPDIR:-/tmp}/ifio-bench-build}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
MODES=${BENCH_MODES:-plain}
[ "${BENCH_SERVER:-}" = 1 ] && MODES=msbuild-server
NMODES=$(wc -w <<<"$MODES")

# BENCH_TASK_DIR: a ready task folder to measure instead (e.g. the package's tasks/net10.0, ReadyToRun-compiled).
TASK_DIR=${BENCH_TASK_DIR:-$REPO/src/Tasks/bin/Release/net10.0}
if [ -z "${BENCH_TASK_DIR:-}" ]; then
  echo "building the task (Release)..."
  dotnet build "$REPO/src/Tasks/ImageFlowIO.Tasks.csproj" -c Release -v:q -nologo >/dev/null
fi

rm -rf "$WORK" && mkdir -p "$WORK/images" "$WORK/edits"
# COUNT assets plus RUNS photos the project has never seen: an edit is new content (another asset's photo would be a
# content-addressed cache hit, and measure the cache instead of the edit)
/usr/bin/python3 "$REPO/tools/testdata/make_bench_images.py" "$WORK/edits" "$((COUNT + RUNS * NMODES))" >/dev/null
ls "$WORK/edits"/*.jpg | head -n "$COUNT" | xargs mv -t "$WORK/images"

# shellcheck source=bench/build/project.sh
source "$(dirname "$0")/project.sh"

# Prints "wall_ms cpu_ms" of one build (cpu = user + sys of dotnet and its children: robust on a shared machine).
build() { # $1: folder, rest: extra args
  local t
  # shellcheck disable=SC2086 # BENCH_ARGS: word-split on purpose
  t=$( { TIMEFORMAT='%R %U %S'; time dotnet build "$1/Bench.csproj" --no-restore $NODE_REUSE -v:q -nologo ${BENCH_ARGS:-} $MODE_ARGS "${@:2}" >>"${BENCH_LOG:-/dev/null}" || { echo "build failed: $1 ${*:2}" >&2; exit 1; }; } 2>&1 )
  awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' <<<"$t"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
clean() { rm -rf "$1/bin" "$1/obj/Release" "$1/obj/Debug"; }

make_project "$WORK/enabled"
make_project "$WORK/disabled"

stop_servers() {
  dotnet build "$WORK/enabled/Bench.csproj" --no-restore -nodeReuse:false -v:q -nologo -t:ImageFlowBuildServerShutdown >/dev/null 2>&1 || true
  DOTNET_CLI_USE_MSBUILD_SERVER=1 dotnet build-server shutdown --msbuild >/dev/null 2>&1 || true
}
trap stop_servers EXIT

EDIT=0
SUMMARY=""
measure() { # $1: mode
  local mode=$1
  case $mode in
    plain|ifio-server|ifio-server-late) export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0; NODE_REUSE=-nodeReuse:false ;;
    msbuild-server) unset MSBUILDDISABLENODEREUSE; export DOTNET_CLI_USE_MSBUILD_SERVER=1; NODE_REUSE= ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  # plain and msbuild-server name the build server off: it is on by default on Linux outside CI.
  MODE_ARGS=-p:ImageFlowBuildServer=false; [ "$mode" = ifio-server ] && MODE_ARGS=-p:ImageFlowBuildServer=true
  [ "$mode" = ifio-server-late ] && MODE_ARGS="-p:ImageFlowBuildServer=true -p:ImageFlowBuildServerStartEarly=false"
  stop_servers

  echo "[$mode] cold builds ($COUNT assets, model: $MODEL)..."
  clean "$WORK/disabled"; read -r COLD_DISABLED COLD_DISABLED_CPU < <(build "$WORK/disabled" -p:ImageFlowEnabled=false)
  clean "$WORK/enabled";  read -r COLD COLD_CPU < <(build "$WORK/enabled")
  PER_IMAGE=$(( (COLD - COLD_DISABLED) / COUNT ))

  # Interleaved: each round builds the unchanged project, the disabled one, then one edit, so a shared machine's drift
  # over the run falls on all three alike (the edit is also compared with the no-change build just before it).
  echo "[$mode] no-change, disabled and one-edit builds (interleaved, $RUNS rounds)..."
  : > "$WORK/$mode-nochange.txt"; : > "$WORK/$mode-disabled.txt"; : > "$WORK/$mode-edited.txt"
  for i in $(seq "$RUNS"); do
    build "$WORK/enabled" >> "$WORK/$mode-nochange.txt"
    build "$WORK/disabled" -p:ImageFlowEnabled=false >> "$WORK/$mode-disabled.txt"
    # a real content change: a photo no build has seen over asset i
    EDIT=$((EDIT + 1))
    cp "$(ls "$WORK/edits"/*.jpg | sed -n "${EDIT}p")" "$(ls "$WORK/images"/*.jpg | sed -n "${i}p")"
    build "$WORK/enabled" >> "$WORK/$mode-edited.txt"
  done
  NOCHANGE=$(cut -d' ' -f1 "$WORK/$mode-nochange.txt" | median); NOCHANGE_CPU=$(cut -d' ' -f2 "$WORK/$mode-nochange.txt" | median)
  DISABLED=$(cut -d' ' -f1 "$WORK/$mode-disabled.txt" | median); DISABLED_CPU=$(cut -d' ' -f2 "$WORK/$mode-disabled.txt" | median)
  EDITED=$(cut -d' ' -f1 "$WORK/$mode-edited.txt" | median); EDITED_CPU=$(cut -d' ' -f2 "$WORK/$mode-edited.txt" | median)
  PAIRED=$(paste -d' ' "$WORK/$mode-edited.txt" "$WORK/$mode-nochange.txt" | awk '{ print $1 - $3 }' | median)

  RATIO=$(awk -v a="$NOCHANGE" -v b="$DISABLED" 'BEGIN { printf "%.3f", a / b }')
  RATIO_CPU=$(awk -v a="$NOCHANGE_CPU" -v b="$DISABLED_CPU" 'BEGIN { printf "%.3f", a / b }')
  EDIT_BUDGET=$(( NOCHANGE + PER_IMAGE * 3 / 2 ))
  SUMMARY+="
[$mode] assets:                       $COUNT ($MODEL); medians of $RUNS; wall ms (cpu ms = user + sys)
[$mode] cold build:                   $COLD ($COLD_CPU) (disabled: $COLD_DISABLED ($COLD_DISABLED_CPU); one image's cold cost ~ $PER_IMAGE ms wall)
[$mode] no-change build:              $NOCHANGE ($NOCHANGE_CPU)
[$mode] ImageFlowEnabled=false build: $DISABLED ($DISABLED_CPU)
[$mode] no-change / disabled:         $RATIO wall, $RATIO_CPU cpu (target <= 1.05)
[$mode] one edited image:             $EDITED ($EDITED_CPU) (target <= no-change + 1.5 x one image = $EDIT_BUDGET ms wall; +$((EDITED - NOCHANGE)) vs +$((EDIT_BUDGET - NOCHANGE)); paired with the no-change build before it: +$PAIRED)
"
}

for mode in $MODES; do measure "$mode"; done
echo "$SUMMARY"
