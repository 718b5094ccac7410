"""The operator's layering holds: one module talks to Kubernetes, builders stay pure.

Checked on the source (AST), so a stray import fails here rather than in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "masker_operator"
ALLOWED = {
    "kubernetes": {"kube.py"},
    "kopf": {"handlers.py", "__main__.py"},
    "masker": set(),  # the proxy is another deployable: share formats (docs), not code
}
PURE = [
    "aggregate.py",
    "spec.py",
    "render.py",
    "sidecar.py",
    "webhook_config.py",
    "tls.py",
    "names.py",
    "settings.py",
]


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py")))
def test_third_party_boundaries(module: str) -> None:
    roots = imported_roots(PACKAGE / module)
    for library, allowed in ALLOWED.items():
        if library in roots:
            assert module in allowed, f"{module} imports {library}; only {sorted(allowed)} may"


@pytest.mark.parametrize("module", PURE)
def test_builders_do_not_import_the_io_layers(module: str) -> None:
    source = (PACKAGE / module).read_text()
    for layer in ("kube", "handlers"):
        assert f"from .{layer} import" not in source and f"import masker_operator.{layer}" not in source
