#!/usr/bin/env bash
# The benchmarks: every configuration in one run, a table on stdout, docs/benchmarks.md rewritten.
#   scripts/bench.sh                 # full run (~6 min on 2 cores)
#   scripts/bench.sh --only inproc   # any bench/run.py option (see --help)
#   scripts/bench.sh profile [...]   # py-spy profile of the voice-turn hot path (bench/hotpath_profile.py)
# Everything runs on 127.0.0.1, bounded in time; figures are for this machine only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$("$ROOT/scripts/bootstrap.sh" dev,operator)"
export MASKER_CACHE_DIR="${MASKER_CACHE_DIR:-$HOME/.cache/masker}"
export PATH="$BIN:$PATH"
if [ "${1:-}" = "profile" ]; then
  shift
  SPY="$MASKER_CACHE_DIR/tools/pyspy/bin/py-spy"
  if [ ! -x "$SPY" ]; then  # from PyPI, kept out of the project venv
    "$BIN/python" -m pip install -q --target "$MASKER_CACHE_DIR/tools/pyspy" py-spy
  fi
  exec "$BIN/python" bench/hotpath_profile.py --py-spy "$SPY" "$@"
fi
exec "$BIN/python" bench/run.py "$@"
