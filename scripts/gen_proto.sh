#!/usr/bin/env bash
# Generates the Python protobuf modules for the NER service (masker.ner.v1) into
# proxy/masker_contracts/_proto/ (the wire contract shared by the proxy and the NER service).
# Generated code is a build product (gitignored), never committed; wheels generate it in setup.py.
# Called by bootstrap.sh with the venv's bin on PATH. Idempotent and fast: each generated file
# records the SHA-256 of the .proto (and of this script) it came from, and nothing runs when that still matches.
# Only message modules (+ .pyi for mypy) are generated: the server and client register the one
# method through grpc's generic handler API, so no untyped *_pb2_grpc.py is needed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/proxy/masker_contracts/proto"
OUT="$ROOT/proxy/masker_contracts/_proto"
PROTO="masker/ner/v1/ner.proto"
PY="${PYTHON:-python}"

# The stamp covers this script too, so a change to the post-processing below regenerates.
HASH="$(cat "$SRC/$PROTO" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-64)"
STAMP="# masker-proto-sha256: $HASH"
if [ -f "$OUT/ner_pb2.py" ] && [ -f "$OUT/ner_pb2.pyi" ] \
  && [ "$(tail -n1 "$OUT/ner_pb2.py")" = "$STAMP" ] && [ "$(tail -n1 "$OUT/ner_pb2.pyi")" = "$STAMP" ]; then
  exit 0
fi

# grpcio-tools is a dev extra; a runtime-only venv (run.sh, the image build) gets the version
# matching the installed grpcio into a cache dir instead, without touching the venv.
if ! "$PY" -c "import grpc_tools.protoc" 2>/dev/null; then
  GRPC_VERSION="$("$PY" -c 'import grpc; print(grpc.__version__)')"
  TOOLS="${MASKER_CACHE_DIR:-$HOME/.cache/masker}/grpcio-tools-$GRPC_VERSION"
  if [ ! -f "$TOOLS/.complete" ]; then
    "$PY" -m pip install -q --no-deps --target "$TOOLS" "grpcio-tools==$GRPC_VERSION" >&2
    touch "$TOOLS/.complete"
  fi
  export PYTHONPATH="$TOOLS${PYTHONPATH:+:$PYTHONPATH}"
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PY" -m grpc_tools.protoc -I "$SRC" --python_out="$TMP" --pyi_out="$TMP" "$SRC/$PROTO"
mkdir -p "$OUT"
for f in ner_pb2.py ner_pb2.pyi; do
  # Generated code is not ours to type-check (google.protobuf ships no stubs here).
  { echo "# mypy: ignore-errors"; cat "$TMP/masker/ner/v1/$f"; echo "$STAMP"; } >"$TMP/$f"
  mv -f "$TMP/$f" "$OUT/$f"
done
echo "gen_proto: generated proxy/masker_contracts/_proto/ner_pb2.py from $PROTO" >&2
