#!/usr/bin/env bash
# Adds every public symbol the build reports as undeclared (RS0016) to the project's PublicAPI.Unshipped.txt and drops
# lines the analyzer reports as gone (RS0017). Review the diff: every public member is a decision.
#   tools/update-public-api.sh src/Runtime/ImageFlowIO.Runtime.csproj
set -euo pipefail
project=$1
api="$(dirname "$project")/PublicAPI.Unshipped.txt"
log=$(mktemp)
dotnet build "$project" -c Release -nodeReuse:false -p:TreatWarningsAsErrors=false >"$log" 2>&1 || true
grep -oP "RS0016: Symbol '\K.*?(?=' is not part of the declared)" "$log" | sort -u >>"$api" || true
{ grep -oP "RS0017: Symbol '\K.*?(?=' is part of the declared)" "$log" || true; } | sort -u | while IFS= read -r gone; do
  grep -vxF -- "$gone" "$api" >"$api.tmp" || true; mv "$api.tmp" "$api"
done
{ head -1 "$api"; tail -n +2 "$api" | sort -u; } >"$api.tmp" && mv "$api.tmp" "$api"
rm -f "$log"
echo "updated $api"
