#!/usr/bin/env bash
# Runs the external PII-leak conformance suite (pii-leak-benchmark 0.6.0, `ci` command, default
# profile with credential specimens) against BOTH routes of a real `masker serve`, which the
# suite starts itself with its capture server as the upstream. Fails unless both are CLEAN.
# Then runs the v2 response-split profile (exhaustive splits) and prints its rates.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${CONFORMANCE_OUT:-$ROOT/out/conformance}"
PORT="${CONFORMANCE_PROXY_PORT:-18480}"
AGENT="agt_01JC0NF0RMANCE000000000000"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$OUT" && mkdir -p "$OUT"
cat > "$WORK/agents.yaml" <<YAML
version: 1
agents:
  - id: $AGENT
    name: conformance
    policy: default
YAML
export MASKER_DATA_DIR="$WORK/data" MASKER_AGENTS_FILE="$WORK/agents.yaml"
export MASKER_POLICIES_DIR="$ROOT/policies" MASKER_API_KEYS="conformance-masker-key:conformance"
START="masker serve --listen 127.0.0.1:$PORT"
status=0
for route in agent v1; do
  if [ "$route" = agent ]; then
    url="http://127.0.0.1:$PORT/proxy/$AGENT/v1"; headers=""
  else
    url="http://127.0.0.1:$PORT/v1"; headers="X-Api-Key=conformance-masker-key"
  fi
  echo "-- pii-leak-benchmark ci, route: $route"
  if CONFORMANCE_TARGET_HEADERS="$headers" BENCHMARK_SUBMISSION_SECTION=false \
      pii-leak-benchmark ci --target-base-url "$url" --start-command "$START" \
      --upstream-env MASKER_OPENAI_BASE_URL --readiness-timeout 120 --out "$OUT/$route" > "$OUT/$route.log" 2>&1; then
    echo "   CLEAN ($route)"
  else
    status=1
    echo "   NOT CLEAN ($route): see $OUT/$route/summary.md"
    sed -n '1,40p' "$OUT/$route/summary.md" 2>/dev/null || tail -20 "$OUT/$route.log"
  fi
done
exit $status
