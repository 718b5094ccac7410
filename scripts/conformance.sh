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
  - id: ${AGENT%?}H
    name: conformance-healthcare
    policy: healthcare
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

# v2 response-split profile, every split point. Request side: no value may reach the upstream and
# the caller's own values must come back (fidelity 1.0). With the healthcare policy (scan_response)
# the injected values must also be taken out of the answer.
V2PORT="${CONFORMANCE_V2_PROXY_PORT:-18481}"
MASKER_OPENAI_BASE_URL="http://127.0.0.1:8799/v1" masker serve --listen "127.0.0.1:$V2PORT" > "$OUT/v2-proxy.log" 2>&1 &
PROXY_PID=$!
trap 'kill $PROXY_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$V2PORT/health" >/dev/null && break; sleep 0.5; done
for agent in "$AGENT" "${AGENT%?}H"; do
  label=$([ "$agent" = "$AGENT" ] && echo default || echo healthcare)
  pii-leak-benchmark-v2 --out "$OUT/v2-$label" --only "masker-$label" --exhaustive-splits \
    --gateway-url "http://127.0.0.1:$V2PORT/proxy/$agent/v1/chat/completions" --upstream-port 8799 \
    --seed a1b2c3d4e5f60001 --json-out "$OUT/v2-$label/summary.json" > "$OUT/v2-$label.log" 2>&1 || true
  python3 - "$OUT/v2-$label/summary.json" "$label" <<'PY' || status=1
import json, sys
row = json.load(open(sys.argv[1]))["rows"][0]
label = sys.argv[2]
print(f"   v2 {label}: request-side leaks={len(row['request_path_leak'])} fidelity={row['fidelity_rate']}"
      f" response leak single={row['leak_single_chunk']} adversarial={row['leak_adversarial']}"
      f" cases={row['cases_applicable']} outcome={row['outcome']}")
ok = not row["request_path_leak"] and row["fidelity_rate"] == 1.0 and row["cases_applicable"] > 0
if label == "healthcare":
    ok = ok and row["leak_adversarial"] == 0.0 and row["leak_single_chunk"] == 0.0
sys.exit(0 if ok else 1)
PY
done
exit $status
