#!/usr/bin/env bash
# Runs the proxy with embedded defaults: in-process NER, SQLite vault under ./.data, default
# policy, and the built-in echo upstream unless MASKER_OPENAI_BASE_URL / MASKER_OPENAI_API_KEY
# are set. Extra arguments go to `masker serve`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$("$ROOT/scripts/bootstrap.sh" "")"
cd "$ROOT"
exec "$BIN/masker" serve "$@"
