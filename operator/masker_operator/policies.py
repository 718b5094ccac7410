"""The policy names a MaskerAgent may use, and the custom policies sidecars need inline.

The proxy image ships the built-in policies (``policies/`` of this repository, in
``/etc/masker/policies``); the chart adds custom ones from ``proxy.policies.inline`` as a ConfigMap,
which the central proxy mounts but a sidecar in another namespace cannot. So the operator reads the
same ConfigMap (mounted as a directory, ``MASKER_OPERATOR_POLICIES_DIR``): its file names extend
the known names, and an agent naming a custom policy gets it rendered as ``policy_inline``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

# Must match the policy files of the proxy image (tests/operator/test_policies.py compares).
BUILTIN_POLICIES = frozenset({"default", "healthcare"})


def custom_policies(directory: str | None) -> dict[str, Mapping[str, Any]]:
    """Name (file stem, as the proxy names them) -> parsed YAML; unreadable files are skipped.

    Skipped rather than fatal: the proxy validates the same files at start-up and refuses to run
    with a broken one, which is where the error belongs.
    """
    if not directory:
        return {}
    root = Path(directory)
    if not root.is_dir():
        return {}
    out: dict[str, Mapping[str, Any]] = {}
    for path in sorted([*root.glob("*.yaml"), *root.glob("*.yml")]):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(data, Mapping) and path.stem not in BUILTIN_POLICIES:
            out[path.stem] = data
    return out


def known_policy_names(custom: Mapping[str, object]) -> frozenset[str]:
    return BUILTIN_POLICIES | frozenset(custom)
