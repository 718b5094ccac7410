"""``masker.settings`` is the one reader of the environment in the proxy package: every other
module receives the settings group it needs. Two entry points hand the environment over to it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "proxy" / "masker"
# The entry point that builds Settings from os.environ (plus its command-line overrides), and the
# audit verifier, a separate tool whose --key-env names the variable holding the key to check with.
ALLOWED = {"settings.py", "http/serve.py", "observability/audit_cli.py"}


def _reads_environment(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"environ", "getenv", "environb"}
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in {"environ", "getenv"} for alias in node.names)
        ):
            return True
    return False


def test_only_settings_reads_the_environment() -> None:
    readers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if _reads_environment(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert "settings.py" in readers  # the scan sees what it should
    assert readers <= ALLOWED, sorted(readers - ALLOWED)
