"""Pure builders: MaskerAgent -> ConfigMap/Secret bodies, conditions, names (no cluster).

Includes the contract test: what the operator renders is accepted by the proxy's own reader
(masker.agents.load_agent_table) with the Secret laid out as files, as the sidecar mounts it.
"""

from __future__ import annotations

import base64
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import yaml
from ulid import ULID

from masker.agents import load_agent_table
from masker.settings import Settings
from masker_operator.names import owned_object_name, ref_suffix
from masker_operator.render import (
    AgentRef,
    configmap_body,
    decode_secret_data,
    generate_key,
    key_names_in,
    needs_update,
    new_agent_id,
    proxy_url,
    ready_condition,
    secret_body,
    sidecar_tokenization,
    tombstone_configmap_body,
)
from masker_operator.spec import parse_spec

AGENT = AgentRef(name="front-desk", namespace="clinic-a", uid="8d7c0c1e-0000-4000-8000-000000000001")
AGENT_ID = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC0"
SPEC = parse_spec(
    {
        "upstream": {
            "baseUrl": "https://llm.example.test/v1",
            "allowedModels": ["gpt-4o-mini"],
            "apiKeySecretRef": {"name": "openai"},
        },
        "policy": {"name": "healthcare", "categories": {"PHONE": "mask"}},
        "vapiSecretRef": {"name": "vapi"},
        "rateLimit": {"rps": 7, "burst": 14},
        "stripFields": ["user"],
    }
)


def fixed_keys() -> Any:
    numbers = count(1)
    return lambda: base64.b64encode(bytes([next(numbers)]) * 32).decode()


def test_agent_ids() -> None:
    agent_id = new_agent_id(str(ULID()))
    assert agent_id.startswith("agt_") and len(agent_id) == 30
    with pytest.raises(ValueError):
        new_agent_id("not-a-ulid")


def test_configmap_renders_the_agents_file_format() -> None:
    body = configmap_body(AGENT, SPEC, AGENT_ID, ["FRONT_DESK_2", "FRONT_DESK_1"])
    assert body["metadata"]["name"] == "masker-agent-front-desk"
    assert body["metadata"]["ownerReferences"][0]["uid"] == AGENT.uid
    assert body["metadata"]["ownerReferences"][0]["controller"] is True
    doc = yaml.safe_load(body["data"]["agents.yaml"])
    assert doc == {
        "version": 1,
        "agents": [
            {
                "id": AGENT_ID,
                "name": "front-desk",
                "namespace": "clinic-a",
                "upstream": {
                    "base_url": "https://llm.example.test/v1",
                    "api_key_ref": "UPSTREAM_API_KEY_FRONT_DESK",
                    "allowed_models": ["gpt-4o-mini"],
                },
                "policy": "healthcare",
                "policy_inline": {"version": 1, "categories": {"PHONE": "mask"}},
                "tokenization": "vault",
                "keys": ["FRONT_DESK_2", "FRONT_DESK_1"],
                "fail_mode": "closed",
                "rate_limit": {"rps": 7, "burst": 14},
                "vapi_secret_ref": "VAPI_SECRET_FRONT_DESK",
                "redaction_metadata": False,
                "strip_fields": ["user"],
            }
        ],
    }


def test_rendering_is_deterministic() -> None:
    assert configmap_body(AGENT, SPEC, AGENT_ID, ["A_1"]) == configmap_body(AGENT, SPEC, AGENT_ID, ["A_1"])


def test_first_secret_gets_one_key_and_the_copied_values() -> None:
    plan = secret_body(
        AGENT,
        SPEC,
        existing_data={},
        existing_rotation_token=None,
        upstream_key="sk-test-abc",
        vapi_secret="vapi-test-xyz",
        fresh_key=fixed_keys(),
    )
    data = decode_secret_data(plan.body["data"])
    assert plan.key_names == ("FRONT_DESK_1",)
    assert not plan.rotated
    assert data["UPSTREAM_API_KEY_FRONT_DESK"] == "sk-test-abc"
    assert data["VAPI_SECRET_FRONT_DESK"] == "vapi-test-xyz"
    assert len(base64.b64decode(data["MASKER_KEY_K_FRONT_DESK_1"])) == 32
    assert plan.body["type"] == "Opaque"


def test_reconciling_again_keeps_keys() -> None:
    first = secret_body(
        AGENT,
        SPEC,
        existing_data={},
        existing_rotation_token=None,
        upstream_key="sk-test-abc",
        vapi_secret=None,
        fresh_key=fixed_keys(),
    )
    again = secret_body(
        AGENT,
        SPEC,
        existing_data=decode_secret_data(first.body["data"]),
        existing_rotation_token="",
        upstream_key="sk-test-abc",
        vapi_secret=None,
        fresh_key=fixed_keys(),
    )
    assert again.body == first.body
    assert not needs_update(first.body, again.body)


def test_rotation_adds_a_key_and_keeps_the_old_ones() -> None:
    keys = fixed_keys()
    first = secret_body(
        AGENT,
        SPEC,
        existing_data={},
        existing_rotation_token=None,
        upstream_key=None,
        vapi_secret=None,
        fresh_key=keys,
    )
    rotating = parse_spec({"upstream": {}}, {"masker.dev/rotate-keys": "2026-q1"})
    second = secret_body(
        AGENT,
        rotating,
        existing_data=decode_secret_data(first.body["data"]),
        existing_rotation_token="",
        upstream_key=None,
        vapi_secret=None,
        fresh_key=keys,
    )
    assert second.rotated
    assert second.key_names == ("FRONT_DESK_2", "FRONT_DESK_1")
    old = decode_secret_data(first.body["data"])["MASKER_KEY_K_FRONT_DESK_1"]
    new_data = decode_secret_data(second.body["data"])
    assert new_data["MASKER_KEY_K_FRONT_DESK_1"] == old
    assert new_data["MASKER_KEY_K_FRONT_DESK_2"] != old
    assert second.body["metadata"]["annotations"]["masker.dev/rotation-token"] == "2026-q1"
    # Same token again: no further key.
    third = secret_body(
        AGENT,
        rotating,
        existing_data=new_data,
        existing_rotation_token="2026-q1",
        upstream_key=None,
        vapi_secret=None,
        fresh_key=keys,
    )
    assert third.key_names == second.key_names and not third.rotated


def test_a_token_present_at_creation_does_not_rotate() -> None:
    spec = parse_spec({"keyRotation": {"token": "t0"}})
    plan = secret_body(
        AGENT,
        spec,
        existing_data={},
        existing_rotation_token=None,
        upstream_key=None,
        vapi_secret=None,
        fresh_key=fixed_keys(),
    )
    assert plan.key_names == ("FRONT_DESK_1",) and not plan.rotated


def test_key_names_sort_numerically_and_ignore_other_agents() -> None:
    data = {f"MASKER_KEY_K_FRONT_DESK_{n}": "x" for n in (1, 2, 10, 9)}
    data["MASKER_KEY_K_OTHER_3"] = "x"
    data["UPSTREAM_API_KEY_FRONT_DESK"] = "x"
    assert key_names_in(data, AGENT) == ("FRONT_DESK_10", "FRONT_DESK_9", "FRONT_DESK_2", "FRONT_DESK_1")


def test_generated_keys_are_32_random_bytes() -> None:
    a, b = generate_key(), generate_key()
    assert len(base64.b64decode(a)) == 32 and a != b


def test_needs_update() -> None:
    desired = configmap_body(AGENT, SPEC, AGENT_ID, ["FRONT_DESK_1"])
    existing: dict[str, Any] = {
        "data": dict(desired["data"]),
        "metadata": {**desired["metadata"], "labels": {**desired["metadata"]["labels"], "team": "x"}},
    }
    assert not needs_update(existing, desired)  # foreign labels are fine
    assert needs_update({**existing, "data": {"agents.yaml": "version: 1\n"}}, desired)
    assert needs_update({**existing, "metadata": {**existing["metadata"], "ownerReferences": []}}, desired)
    assert needs_update({**existing, "metadata": {**existing["metadata"], "labels": {}}}, desired)


def test_ready_condition_keeps_transition_time_while_status_holds() -> None:
    first = ready_condition(ready=False, reason="InvalidSpec", message="m", generation=1, now="T1")
    same = ready_condition(
        ready=False, reason="SecretNotFound", message="m2", generation=2, now="T2", previous=first
    )
    assert same[0]["lastTransitionTime"] == "T1"
    assert same[0]["reason"] == "SecretNotFound" and same[0]["observedGeneration"] == 2
    flipped = ready_condition(
        ready=True,
        reason="Reconciled",
        message="ok",
        generation=2,
        now="T3",
        previous=[{"type": "Other", "status": "True"}, *same],
    )
    assert [c["type"] for c in flipped] == ["Other", "Ready"]
    assert flipped[1]["status"] == "True" and flipped[1]["lastTransitionTime"] == "T3"


def test_names() -> None:
    assert ref_suffix("front-desk.v2") == "FRONT_DESK_V2"
    long_name = "a" * 253
    name = owned_object_name(long_name)
    assert len(name) <= 253 and name == owned_object_name(long_name) and name != owned_object_name("a" * 252)
    assert (
        proxy_url("https://masker.example.test/", 8080, AGENT_ID)
        == f"https://masker.example.test/proxy/{AGENT_ID}/v1"
    )
    assert proxy_url(None, 8080, AGENT_ID) == f"http://127.0.0.1:8080/proxy/{AGENT_ID}/v1"
    # Not served centrally (servedBy: sidecar, or no central proxy): the URL names the sidecar.
    assert (
        proxy_url("https://masker.example.test", 8080, AGENT_ID, central=False)
        == f"http://127.0.0.1:8080/proxy/{AGENT_ID}/v1"
    )


def test_the_proxy_reader_accepts_what_the_operator_renders(tmp_path: Path) -> None:
    plan = secret_body(
        AGENT,
        SPEC,
        existing_data={},
        existing_rotation_token=None,
        upstream_key="sk-test-upstream",
        vapi_secret="vapi-test-secret",
    )
    cm = configmap_body(AGENT, SPEC, AGENT_ID, plan.key_names)
    config_dir, secrets_dir = tmp_path / "agent", tmp_path / "secrets"
    config_dir.mkdir()
    secrets_dir.mkdir()
    (config_dir / "agents.yaml").write_text(cm["data"]["agents.yaml"])
    for name, value in decode_secret_data(plan.body["data"]).items():
        (secrets_dir / name).write_text(value)
    settings = Settings.from_env(
        {
            "MASKER_AGENTS_FILE": str(config_dir / "agents.yaml"),
            "MASKER_SECRETS_DIR": str(secrets_dir),
            "MASKER_DATA_DIR": str(tmp_path / "data"),
        }
    )
    table = load_agent_table(settings)
    agent = table.agents[AGENT_ID]
    assert agent.name == "front-desk"
    assert agent.api_key == "sk-test-upstream"
    assert agent.vapi_secret == "vapi-test-secret"
    assert agent.base_url == "https://llm.example.test/v1"
    assert agent.allowed_models == frozenset({"gpt-4o-mini"})
    assert (agent.rps, agent.burst) == (7, 14)
    assert agent.policy == "healthcare" and agent.policy_inline is not None
    assert agent.strip_fields == frozenset({"user"})
    assert agent.tenant == "clinic-a"


def _proxy_table(tmp_path: Path, agents_yaml: str, secret_data: dict[str, str]) -> Any:
    config_dir, secrets_dir = tmp_path / "agent", tmp_path / "secrets"
    config_dir.mkdir(exist_ok=True)
    secrets_dir.mkdir(exist_ok=True)
    (config_dir / "agents.yaml").write_text(agents_yaml)
    for name, value in secret_data.items():
        (secrets_dir / name).write_text(value)
    settings = Settings.from_env(
        {
            "MASKER_AGENTS_FILE": str(config_dir / "agents.yaml"),
            "MASKER_SECRETS_DIR": str(secrets_dir),
            "MASKER_DATA_DIR": str(tmp_path / "data"),
        }
    )
    return load_agent_table(settings)


def test_a_custom_policy_reaches_the_sidecar_inline(tmp_path: Path) -> None:
    spec = parse_spec({"policy": {"name": "dental", "categories": {"PHONE": "mask"}}})
    custom = {"version": 1, "default_action": "placeholder", "categories": {"PHONE": "drop", "EMAIL": "hash"}}
    plan = secret_body(
        AGENT, spec, existing_data={}, existing_rotation_token=None, upstream_key=None, vapi_secret=None
    )
    cm = configmap_body(AGENT, spec, AGENT_ID, plan.key_names, custom_policy=custom)
    (entry,) = yaml.safe_load(cm["data"]["agents.yaml"])["agents"]
    # The spec's own categories still win over the named policy's.
    assert entry["policy_inline"] == {
        "version": 1,
        "default_action": "placeholder",
        "categories": {"PHONE": "mask", "EMAIL": "hash"},
    }
    table = _proxy_table(tmp_path, cm["data"]["agents.yaml"], decode_secret_data(plan.body["data"]))
    assert table.agents[AGENT_ID].policy_inline is not None


def test_a_tombstone_leaves_the_proxy_with_no_agents(tmp_path: Path) -> None:
    cm = configmap_body(AGENT, SPEC, AGENT_ID, ["FRONT_DESK_1"])
    cm["metadata"]["resourceVersion"] = "42"
    tomb = tombstone_configmap_body(cm)
    assert "ownerReferences" not in tomb["metadata"]  # or the garbage collector deletes it
    assert tomb["metadata"]["annotations"]["masker.dev/deleted"] == "true"
    assert tomb["metadata"]["resourceVersion"] == "42"
    assert _proxy_table(tmp_path, tomb["data"]["agents.yaml"], {}).agents == {}


@pytest.mark.parametrize(
    ("tokenization", "has_database", "expected"),
    [
        ("vault", False, "reversible-aead"),
        ("vault", True, "vault"),
        ("reversible-aead", False, "reversible-aead"),
        ("reversible-aead", True, "reversible-aead"),
    ],
)
def test_sidecars_never_keep_the_only_copy_of_a_vault(
    tokenization: str, has_database: bool, expected: str
) -> None:
    spec = parse_spec({"tokenization": tokenization})
    assert sidecar_tokenization(spec, has_database=has_database) == expected


def test_the_vault_database_url_goes_to_the_secret_only() -> None:
    url = "postgresql://vault@db.example.test:5432/vault"
    plan = secret_body(
        AGENT,
        SPEC,
        existing_data={},
        existing_rotation_token=None,
        upstream_key=None,
        vapi_secret=None,
        database_url=url,
    )
    assert decode_secret_data(plan.body["data"])["MASKER_DATABASE_URL"] == url
    assert url not in configmap_body(AGENT, SPEC, AGENT_ID, plan.key_names)["data"]["agents.yaml"]
