#!/usr/bin/env bash
# Test bed for the operator, webhook and chart tests: a real kube-apiserver and
# kube-controller-manager (v1.20.2) plus etcd, all on loopback, no Docker.
#
# Why build from source: Debian bookworm ships the Kubernetes 1.20.2 *source* package (with
# vendor/), and etcd as a binary package; both come from Debian apt, the only package source CI
# has besides PyPI. The one-time build takes ~6 minutes on 2 cores; the binaries are cached under
# $MASKER_CACHE_DIR/k8s/ (outside the clone), so this script does nothing on a warm machine except
# check that the runtime packages are present.
set -euo pipefail
CACHE="${MASKER_CACHE_DIR:-$HOME/.cache/masker}"
OUT="$CACHE/k8s"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# Runtime packages (needed even when the binaries are cached: etcd runs from the package).
RUNTIME_PKGS="etcd-server openssl"
BUILD_PKGS="golang-go rsync jq golang-github-modern-go-reflect2-dev dpkg-dev"
missing() { for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done; }

have_binaries() { [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/kube-controller-manager" ]; }

need=$(missing $RUNTIME_PKGS)
if ! have_binaries; then need="$need $(missing $BUILD_PKGS)"; fi
need=$(echo $need)
if [ -n "$need" ]; then
  echo "k8s-testbed: installing $need" >&2
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $need >&2
fi

if have_binaries; then
  echo "k8s-testbed: cached $OUT/kube-apiserver, $OUT/kube-controller-manager"
  exit 0
fi

# --- one-time build -------------------------------------------------------------------------
# A deb-src entry for bookworm, written in the style of the existing Debian entry: apt refuses
# two entries for the same archive with different Signed-By values.
if ! grep -rqs '^deb-src .*bookworm' /etc/apt/sources.list /etc/apt/sources.list.d/ \
   && ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/; then
  DEB822=/etc/apt/sources.list.d/debian.sources
  if [ -f "$DEB822" ]; then
    uri=$(awk '/^URIs:/{print $2; exit}' "$DEB822")
    signed=$(awk '/^Signed-By:/{print $2; exit}' "$DEB822")
    {
      echo "Types: deb-src"; echo "URIs: ${uri:-http://deb.debian.org/debian}"
      echo "Suites: bookworm"; echo "Components: main"
      if [ -n "$signed" ]; then echo "Signed-By: $signed"; fi
    } | $SUDO tee /etc/apt/sources.list.d/masker-bookworm-src.sources >/dev/null
  else
    echo "deb-src http://deb.debian.org/debian bookworm main" \
      | $SUDO tee /etc/apt/sources.list.d/masker-bookworm-src.list >/dev/null
  fi
  $SUDO apt-get update -q >&2
fi

WORK="$CACHE/k8s-build"
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
echo "k8s-testbed: fetching the kubernetes source package" >&2
apt-get source --download-only kubernetes >&2
# Unpack without Debian's patches: the upstream tree plus vendor/ is what builds.
dsc=$(ls kubernetes_*.dsc | head -n1)
dpkg-source --skip-patches -x "$dsc" src >&2

# reflect2 1.0.1 (vendored) crashes on Go >= 1.18; Debian's 1.0.2 is API compatible.
R2=src/vendor/github.com/modern-go/reflect2
rm -rf "$R2"
mkdir -p "$R2"
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2/. "$R2/"
rm -f "$R2/go.mod" "$R2/go.sum"

echo "k8s-testbed: building kube-apiserver + kube-controller-manager (one time, ~6 min)" >&2
(
  cd src
  export GO111MODULE=off GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local
  export KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean
  make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >&2
)
mkdir -p "$OUT"
for b in kube-apiserver kube-controller-manager; do
  f=$(find "$WORK/src/_output" -type f -name "$b" -perm -u+x | head -n1)
  [ -n "$f" ] || { echo "k8s-testbed: $b not built" >&2; exit 1; }
  install -m 0755 "$f" "$OUT/$b.tmp" && mv "$OUT/$b.tmp" "$OUT/$b"
done
cd "$CACHE"
rm -rf "$WORK"
"$OUT/kube-apiserver" --version
echo "k8s-testbed: built into $OUT"
