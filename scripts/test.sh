#!/usr/bin/env bash
# The whole test suite: lint, types, unit and integration tests (real Hypercorn, gRPC, PostgreSQL,
# Redis, kube-apiserver), the chart checks and the external PII-leak conformance suite.
# Installs what it needs; slow things (venv, kube-apiserver build, helm/kubectl) are cached
# under ~/.cache/masker. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$("$ROOT/scripts/bootstrap.sh" dev,operator)"
export PATH="$BIN:$PATH"
export MASKER_CACHE_DIR="${MASKER_CACHE_DIR:-$HOME/.cache/masker}"
# Extra set-up steps (system packages, test binaries), one script per concern, run in order.
for step in "$ROOT"/scripts/test.d/*.sh; do
  [ -e "$step" ] || continue
  echo "== $(basename "$step")"
  bash "$step"
done
echo "== ruff"
ruff check proxy ner operator tests bench
echo "== import layering"
lint-imports --no-cache
echo "== mypy"
mypy proxy/masker ner/masker_ner operator/masker_operator
echo "== pytest"
python -m pytest "$@"
echo "== conformance (pii-leak-benchmark)"
bash "$ROOT/scripts/conformance.sh"
