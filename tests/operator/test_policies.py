"""The operator's idea of the policy names matches the proxy image, and reads the chart's custom ones."""

from __future__ import annotations

from pathlib import Path

from masker_operator.policies import BUILTIN_POLICIES, custom_policies, known_policy_names

ROOT = Path(__file__).resolve().parents[2]


def test_builtin_names_are_the_policies_shipped_in_the_proxy_image() -> None:
    # Dockerfile.proxy copies policies/ to MASKER_POLICIES_DIR; "default" exists even without a file.
    shipped = {p.stem for p in (ROOT / "policies").glob("*.y*ml")} | {"default"}
    assert shipped == BUILTIN_POLICIES


def test_custom_policies_come_from_the_mounted_configmap(tmp_path: Path) -> None:
    (tmp_path / "dental.yaml").write_text("version: 1\ncategories: {PHONE: mask}\n")
    (tmp_path / "broken.yaml").write_text("version: [1\n")
    (tmp_path / "..data").mkdir()  # the kubelet's ConfigMap layout: directories are not policies
    custom = custom_policies(str(tmp_path))
    assert custom == {"dental": {"version": 1, "categories": {"PHONE": "mask"}}}
    assert known_policy_names(custom) == {"default", "healthcare", "dental"}
    assert custom_policies(None) == {} and custom_policies(str(tmp_path / "missing")) == {}
