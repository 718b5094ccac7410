#!/usr/bin/env bash
# Creates (or reuses) the cached virtualenv for this project and installs Masker into it.
# Sourced by run.sh and test.sh; prints the venv's bin directory on stdout as MASKER_BIN.
# The venv lives outside the clone, keyed by the dependency list, so a fresh clone on the same
# machine reuses it and a changed pyproject.toml gets a new one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MASKER_CACHE_DIR:-$HOME/.cache/masker}"
EXTRAS="${1:-dev,operator}"
PY="${PYTHON:-python3}"
# Only what decides the installed packages goes into the key (not tool settings).
DEPS="$("$PY" - "$ROOT/pyproject.toml" <<'PYEOF'
import json, sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print(json.dumps([project.get("dependencies"), project.get("optional-dependencies"),
                  project.get("scripts")], sort_keys=True))
PYEOF
)"
KEY="$( (echo "$DEPS"; echo "$EXTRAS"; "$PY" --version) | sha256sum | cut -c1-16)"
VENV="$CACHE/venv-$KEY"
mkdir -p "$CACHE"
# Several shells (parallel test runs, developers) may bootstrap at once: one builds, others wait.
exec 9>"$VENV.lock"
flock 9
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
  echo "bootstrap: creating $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip wheel setuptools >&2
  "$VENV/bin/pip" install -q -e "$ROOT[$EXTRAS]" >&2
  touch "$VENV/.complete"
else
  # The editable install must point at *this* clone (CI clones afresh next to the old one).
  "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e "$ROOT" >&2
fi
# Generated gRPC stubs are build products, never committed.
if [ -x "$ROOT/scripts/gen_proto.sh" ]; then
  PATH="$VENV/bin:$PATH" "$ROOT/scripts/gen_proto.sh" >&2
fi
echo "$VENV/bin"
