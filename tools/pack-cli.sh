#!/usr/bin/env bash
# Packs the imageflowio tool as it ships: the pointer package ImageFlowIO.Cli and one package per RID
# (linux-arm64, win-x64, osx-arm64 ReadyToRun, framework-dependent), then replaces ImageFlowIO.Cli.linux-x64 with the
# Native AOT build. `dotnet pack` alone cannot do the last step: its inner RID packs reuse the outer restore, which has
# no AOT compiler, and Native AOT compiles only for the OS it runs on (so run this on linux-x64, with clang and
# zlib1g-dev installed).
#   tools/pack-cli.sh FEED_DIR [extra dotnet pack arguments, e.g. -p:Version=1.2.3]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
feed="${1:?usage: tools/pack-cli.sh FEED_DIR [dotnet pack arguments]}"; shift
cli="$repo/src/Cli/ImageFlowIO.Cli.csproj"
dotnet pack "$cli" -c Release -o "$feed" -nodeReuse:false "$@"
# The tool packer includes whatever the RID's publish folder holds: start it empty.
rm -rf "$repo/src/Cli/bin/Release/net10.0/linux-x64/publish"
dotnet pack "$cli" -c Release -r linux-x64 -p:ImageFlowCliAot=true -o "$feed" -nodeReuse:false "$@"
ls -l "$feed"/ImageFlowIO.Cli*.nupkg
