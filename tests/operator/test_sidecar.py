"""Pure sidecar-injection builder: pod in, containers/volumes/annotations out (no cluster)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from masker_operator.settings import SidecarSettings
from masker_operator.sidecar import inject, requested_agent, wants_base_url

AGENT_ID = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC0"
SETTINGS = SidecarSettings(image="registry.example.test/masker:1", port=8181)


def pod(
    labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "metadata": {"labels": labels or {}, "annotations": annotations or {}},
        "spec": {"containers": [{"name": "app", "image": "bot:1"}], **spec},
    }


LABEL = {"masker.dev/inject": "true"}
AGENT = {"masker.dev/agent": "front-desk"}


@pytest.mark.parametrize(
    ("labels", "annotations", "expected"),
    [
        (LABEL, AGENT, "front-desk"),
        ({}, AGENT, None),
        ({"masker.dev/inject": "false"}, AGENT, None),
        (LABEL, {}, None),
        (LABEL, {**AGENT, "masker.dev/injected": "true"}, None),
    ],
)
def test_requested_agent(labels: dict[str, str], annotations: dict[str, str], expected: str | None) -> None:
    assert requested_agent(pod(labels, annotations)) == expected


def test_pod_that_already_has_the_sidecar_is_left_alone() -> None:
    p = pod(LABEL, AGENT)
    p["spec"]["containers"].append({"name": "masker-proxy", "image": "x"})
    assert requested_agent(p) is None


def test_injection_adds_a_locked_down_sidecar_and_mounts() -> None:
    original = pod(LABEL, AGENT, volumes=[{"name": "data", "emptyDir": {}}])
    before = copy.deepcopy(original)
    changes = inject(original, agent_name="front-desk", agent_id=AGENT_ID, settings=SETTINGS)
    assert original == before  # pure: the input is not mutated
    assert [c["name"] for c in changes.containers] == ["app", "masker-proxy"]
    sidecar = changes.containers[1]
    assert sidecar["image"] == "registry.example.test/masker:1"
    assert sidecar["ports"] == [{"name": "masker-http", "containerPort": 8181, "protocol": "TCP"}]
    sc = sidecar["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sidecar["livenessProbe"]["httpGet"] == {"path": "/health", "port": "masker-http"}
    assert sidecar["resources"]["limits"]["memory"] == "512Mi"
    env = {e["name"]: e.get("value") for e in sidecar["env"]}
    assert env["MASKER_AGENTS_FILE"] == "/etc/masker/agent/agents.yaml"
    assert env["MASKER_SECRETS_DIR"] == "/etc/masker/secrets"
    assert env["MASKER_LISTEN_ADDR"] == "0.0.0.0:8181"
    volumes = {v["name"]: v for v in changes.volumes}
    assert set(volumes) == {
        "data",
        "masker-agent-config",
        "masker-agent-secrets",
        "masker-tmp",
        "masker-data",
    }
    assert volumes["masker-agent-config"]["configMap"]["name"] == "masker-agent-front-desk"
    assert volumes["masker-agent-secrets"]["secret"]["secretName"] == "masker-agent-front-desk"
    # Whole-directory mounts (no subPath), or updates would never reach the running proxy.
    assert all("subPath" not in m for m in sidecar["volumeMounts"])
    assert changes.annotations == {"masker.dev/injected": "true"}
    assert "env" not in changes.containers[0]  # base URL only on request


def test_base_url_env_on_request_replaces_existing_value() -> None:
    p = pod(LABEL, {**AGENT, "masker.dev/inject-base-url": "true"})
    p["spec"]["containers"][0]["env"] = [{"name": "OPENAI_BASE_URL", "value": "https://api.openai.com/v1"}]
    changes = inject(p, agent_name="front-desk", agent_id=AGENT_ID, settings=SETTINGS)
    assert changes.containers[0]["env"] == [
        {"name": "OPENAI_BASE_URL", "value": f"http://127.0.0.1:8181/proxy/{AGENT_ID}/v1"}
    ]


def test_base_url_env_name_can_be_chosen() -> None:
    p = pod(LABEL, {**AGENT, "masker.dev/inject-base-url": "true", "masker.dev/base-url-env": "LLM_URL"})
    changes = inject(p, agent_name="front-desk", agent_id=AGENT_ID, settings=SETTINGS)
    assert [e["name"] for e in changes.containers[0]["env"]] == ["LLM_URL"]


@pytest.mark.parametrize(
    ("annotation", "default", "expected"),
    [(None, False, False), (None, True, True), ("true", False, True), ("false", True, False)],
)
def test_wants_base_url(annotation: str | None, default: bool, expected: bool) -> None:
    annotations = {"masker.dev/inject-base-url": annotation} if annotation else {}
    assert wants_base_url(pod(LABEL, annotations), default) is expected


def test_base_url_needs_the_agent_id() -> None:
    with pytest.raises(ValueError):
        inject(
            pod(LABEL, {**AGENT, "masker.dev/inject-base-url": "true"}),
            agent_name="front-desk",
            agent_id=None,
            settings=SETTINGS,
        )


def test_user_volume_with_our_name_is_kept() -> None:
    p = pod(LABEL, AGENT, volumes=[{"name": "masker-tmp", "emptyDir": {"medium": ""}}])
    changes = inject(p, agent_name="front-desk", agent_id=None, settings=SETTINGS)
    assert [v for v in changes.volumes if v["name"] == "masker-tmp"] == [
        {"name": "masker-tmp", "emptyDir": {"medium": ""}}
    ]


def test_sidecar_takes_the_vault_database_from_the_agents_secret_when_there() -> None:
    changes = inject(pod(LABEL, AGENT), agent_name="front-desk", agent_id=None, settings=SETTINGS)
    env = {e["name"]: e for e in changes.containers[-1]["env"]}
    # Optional: without a database the operator renders the agent as reversible-aead instead.
    assert env["MASKER_DATABASE_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": "masker-agent-front-desk", "key": "MASKER_DATABASE_URL", "optional": True}
    }
