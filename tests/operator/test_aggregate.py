"""Central serving's pure builders (operator/masker_operator/aggregate.py), no cluster.

Includes the contract test: the shards the operator writes, laid out as the chart's projected
volume lays them out, are what the proxy's own reader (masker.agents) serves — with two agents of
the same name in two namespaces kept apart.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

from masker.agents import load_agent_table
from masker.errors import ConfigError
from masker.settings import Settings
from masker_operator.aggregate import (
    AGENTS_JSON,
    Member,
    agents_json,
    member,
    members_from_shard,
    plan_aggregate,
    secret_writes,
    shard_configmap,
    shard_of,
    shard_secret,
)
from masker_operator.render import AgentRef, agent_entry, decode_secret_data, new_agent_id, secret_body
from masker_operator.spec import parse_spec
from tests.kubelet_volumes import project

SPEC = parse_spec(
    {
        "upstream": {
            "baseUrl": "https://llm.example.test/v1",
            "allowedModels": ["gpt-4o-mini"],
            "apiKeySecretRef": {"name": "openai"},
        },
        "policy": {"name": "healthcare"},
    }
)
BUDGET = 900 * 1024


def make_member(namespace: str, name: str, upstream_key: str = "sk-test", **meta: Any) -> Member:
    agent = AgentRef(name=name, namespace=namespace, uid=meta.get("uid", str(ULID())))
    agent_id = meta.get("agent_id") or new_agent_id(str(ULID()))
    plan = secret_body(
        agent,
        SPEC,
        existing_data={},
        existing_rotation_token=None,
        upstream_key=upstream_key,
        vapi_secret=None,
    )
    entry = agent_entry(agent, SPEC, agent_id, plan.key_names)
    return member(agent, entry, decode_secret_data(plan.body["data"]))


def lay_out(tmp_path: Path, members: list[Member], shards: int = 3) -> Settings:
    """The proxy's view: agents.d/operator-<i>.json and scoped secret files, as the chart mounts."""
    root = tmp_path / "central"
    (root / "agents.d").mkdir(parents=True)
    for shard in plan_aggregate(members, shards, BUDGET).shards:
        (root / "agents.d" / f"operator-{shard.index}.json").write_text(shard.agents_json)
        for name, value in shard.secrets.items():
            (root / name).write_text(value)
    return Settings.from_env(
        {
            "MASKER_AGENTS_FILE": str(root / "agents.d"),
            "MASKER_SECRETS_DIR": str(root),
            "MASKER_DATA_DIR": str(tmp_path / "data"),
        }
    )


def test_member_scopes_every_secret_to_the_agent() -> None:
    m = make_member("clinic-a", "front-desk", "sk-clinic-a")
    assert m.key == ("clinic-a", "front-desk")
    assert m.entry["secrets_scope"] == m.agent_id
    # Key names (and so token key ids) stay the sidecar's; only the files are scoped.
    assert m.entry["keys"] == ["FRONT_DESK_1"]
    assert m.entry["upstream"]["api_key_ref"] == "UPSTREAM_API_KEY_FRONT_DESK"
    assert set(m.secrets) == {
        f"{m.agent_id}.UPSTREAM_API_KEY_FRONT_DESK",
        f"{m.agent_id}.MASKER_KEY_K_FRONT_DESK_1",
    }
    assert m.secrets[f"{m.agent_id}.UPSTREAM_API_KEY_FRONT_DESK"] == "sk-clinic-a"


def test_same_name_in_two_namespaces_shares_nothing(tmp_path: Path) -> None:
    a = make_member("clinic-a", "front-desk", "sk-clinic-a")
    b = make_member("clinic-b", "front-desk", "sk-clinic-b")
    table = load_agent_table(lay_out(tmp_path, [a, b]))
    agent_a, agent_b = table.agents[a.agent_id], table.agents[b.agent_id]
    assert (agent_a.tenant, agent_b.tenant) == ("clinic-a", "clinic-b")
    assert (agent_a.api_key, agent_b.api_key) == ("sk-clinic-a", "sk-clinic-b")
    assert agent_a.keyring.current.name == agent_b.keyring.current.name == "FRONT_DESK_1"
    assert agent_a.keyring.current.material != agent_b.keyring.current.material


def test_a_scoped_agent_never_reads_unscoped_or_other_tenants_files(tmp_path: Path) -> None:
    a = make_member("clinic-a", "front-desk", "sk-clinic-a")
    b = make_member("clinic-b", "front-desk", "sk-clinic-b")
    settings = lay_out(tmp_path, [a, b])
    assert settings.vault.secrets_dir is not None
    # Remove b's upstream key but leave an unscoped file and an env var of the plain name: b must
    # not fall back to either (nor to a's file), it is refused.
    (settings.vault.secrets_dir / f"{b.agent_id}.UPSTREAM_API_KEY_FRONT_DESK").unlink()
    (settings.vault.secrets_dir / "UPSTREAM_API_KEY_FRONT_DESK").write_text("sk-someone-else")
    env = {**settings.vault.secret_env, "UPSTREAM_API_KEY_FRONT_DESK": "sk-from-env"}
    env_settings = Settings.from_env(env)
    with pytest.raises(ConfigError, match="api_key_ref is not available"):
        load_agent_table(env_settings)


def test_scope_must_be_a_plain_name(tmp_path: Path) -> None:
    m = make_member("clinic-a", "front-desk")
    bad = Member(m.key, m.agent_id, {**m.entry, "secrets_scope": "../etc"}, m.secrets)
    with pytest.raises(ConfigError, match="secrets_scope"):
        load_agent_table(lay_out(tmp_path, [bad]))


def test_shards_split_the_members_and_each_agent_lands_in_one() -> None:
    members = [make_member(f"ns-{i % 7}", f"agent-{i}") for i in range(60)]
    plan = plan_aggregate(members, 4, BUDGET)
    assert len(plan.shards) == 4 and not plan.overflow and not plan.duplicates
    placed = {key: shard.index for shard in plan.shards for key in shard.members}
    assert len(placed) == 60
    for m in members:
        assert placed[m.key] == shard_of(m.agent_id, 4)
    for shard in plan.shards:
        ids = {e["id"] for e in json.loads(shard.agents_json)["agents"]}
        assert ids == {m.agent_id for m in members if m.key in shard.members}
        # Secrets travel with their agent's shard, nowhere else.
        assert {k.split(".", 1)[0] for k in shard.secrets} == ids
    assert {len(s.members) for s in plan.shards} != {0}


def test_shard_assignment_is_stable_and_order_free() -> None:
    members = [make_member("clinic-a", f"agent-{i}") for i in range(20)]
    first = plan_aggregate(members, 3, BUDGET)
    again = plan_aggregate(list(reversed(members)), 3, BUDGET)
    assert [s.agents_json for s in first.shards] == [s.agents_json for s in again.shards]
    # Adding one agent changes exactly one shard.
    extra = make_member("clinic-b", "late")
    after = plan_aggregate([*members, extra], 3, BUDGET)
    changed = [i for i in range(3) if after.shards[i].agents_json != first.shards[i].agents_json]
    assert changed == [shard_of(extra.agent_id, 3)]


def test_a_full_shard_drops_its_newest_members_not_the_served_ones() -> None:
    members = [make_member("clinic-a", f"agent-{i}") for i in range(30)]
    entry_bytes, secret_bytes = members[0].sizes
    budget = 4096 + 10 * max(entry_bytes, secret_bytes) + 10
    plan = plan_aggregate(members, 1, budget)
    served = plan.shards[0].members
    assert len(served) == 10 and len(plan.overflow) == 20
    assert set(served) == {m.key for m in members[:10]}
    assert len(plan.shards[0].agents_json) < budget


def test_an_id_clash_keeps_the_agent_already_served() -> None:
    victim = make_member("clinic-a", "front-desk", "sk-clinic-a")
    thief = make_member("attacker", "copycat", "sk-attacker", agent_id=victim.agent_id)
    for order in ([victim, thief], [thief, victim]):
        plan = plan_aggregate(order, 2, BUDGET)
        assert plan.duplicates == (order[1].key,)
        served = [e for s in plan.shards for e in json.loads(s.agents_json)["agents"]]
        assert [e["namespace"] for e in served] == [order[0].key[0]]


def test_objects_and_read_back_round_trip() -> None:
    members = [make_member("clinic-a", "front-desk"), make_member("clinic-b", "front-desk")]
    plan = plan_aggregate(members, 1, BUDGET)
    shard = plan.shards[0]
    cm = shard_configmap("rel-masker-central-agents", "masker", 0, shard.agents_json)
    secret = shard_secret("rel-masker-central-agents", "masker", 0, shard.secrets)
    assert cm["metadata"]["name"] == secret["metadata"]["name"] == "rel-masker-central-agents-0"
    assert cm["metadata"]["namespace"] == "masker" and "ownerReferences" not in cm["metadata"]
    assert not any("sk-test" in v for v in cm["data"].values())  # credentials only in the Secret
    back = members_from_shard(cm["data"][AGENTS_JSON], decode_secret_data(secret["data"]))
    assert sorted((m.key, m.agent_id) for m in back) == sorted((m.key, m.agent_id) for m in members)
    by_key = {m.key: m for m in members}
    for m in back:
        assert m.same_content(by_key[m.key])
    assert members_from_shard(None, {}) == [] and members_from_shard("not json", {}) == []


def test_agents_json_is_deterministic() -> None:
    entries = [{"id": "b", "namespace": "n2", "name": "x"}, {"id": "a", "namespace": "n1", "name": "y"}]
    assert agents_json(entries) == agents_json(list(reversed(entries)))
    assert json.loads(agents_json(entries))["agents"][0]["namespace"] == "n1"


@pytest.mark.parametrize(
    ("current", "desired", "before", "after"),
    [
        ({}, {}, None, None),
        ({"a": "1"}, {"a": "1"}, None, None),
        ({"a": "1"}, {"a": "1", "b": "2"}, {"a": "1", "b": "2"}, None),  # added: one write, first
        ({"a": "1", "b": "2"}, {"a": "1"}, None, {"a": "1"}),  # removed: one write, after the CM
        ({"a": "1"}, {"a": "9"}, {"a": "9"}, None),  # changed value: first
        ({"a": "1"}, {"b": "2"}, {"a": "1", "b": "2"}, {"b": "2"}),  # both: union, then prune
    ],
)
def test_secret_writes_never_leave_an_entry_without_its_files(
    current: dict[str, str], desired: dict[str, str], before: Any, after: Any
) -> None:
    assert secret_writes(current, desired) == (before, after)


def test_the_proxy_reads_a_directory_of_agents_files(tmp_path: Path) -> None:
    """Hand-written agents.yaml next to operator shards; hidden (kubelet) entries are skipped."""
    m = make_member("clinic-a", "front-desk")
    settings = lay_out(tmp_path, [m], shards=1)
    agents_dir = settings.agents_file
    by_hand = new_agent_id(str(ULID()))
    (agents_dir / "agents.yaml").write_text(f"version: 1\nagents:\n  - id: {by_hand}\n    name: demo\n")
    (agents_dir / "..2026_01_01.json").write_text("not even json")
    (agents_dir / "README.txt").write_text("ignored")
    key = base64.b64encode(b"\x01" * 32).decode()
    env = {**settings.vault.secret_env, "MASKER_KEY_K_DEFAULT": key}
    table = load_agent_table(Settings.from_env(env))
    assert set(table.agents) == {m.agent_id, by_hand}
    # The same id in two files is refused whole (the previous table stays in force).
    (agents_dir / "copy.json").write_text((agents_dir / "operator-0.json").read_text())
    with pytest.raises(ConfigError, match="duplicate"):
        load_agent_table(Settings.from_env(env))


def test_the_proxy_reads_a_kubelet_volume_through_its_current_payload(tmp_path: Path) -> None:
    """The kubelet links new names only after swapping ``..data``: a load in between must still
    find every file of the new payload (and never mix two payloads)."""
    a, b = make_member("clinic-a", "front-desk"), make_member("clinic-b", "front-desk")
    plan = plan_aggregate([a, b], 1, BUDGET)
    volume = tmp_path / "volume"
    files = {"agents.d/operator-0.json": plan.shards[0].agents_json, **plan.shards[0].secrets}
    project(volume, files)
    for name in b.secrets:  # the swap happened, the links for b's files are not there yet
        (volume / name).unlink()
    settings = Settings.from_env(
        {
            "MASKER_AGENTS_FILE": str(volume / "agents.d"),
            "MASKER_SECRETS_DIR": str(volume),
            "MASKER_DATA_DIR": str(tmp_path / "data"),
        }
    )
    table = load_agent_table(settings)
    assert table.agents[b.agent_id].api_key == "sk-test"
    # The fingerprint of a kubelet volume is its ..data link: one readlink, whatever the size.
    before = table.fingerprint
    project(volume, {**files, "agents.d/operator-0.json": agents_json([a.entry])})
    assert load_agent_table(settings).fingerprint != before
    assert set(load_agent_table(settings).agents) == {a.agent_id}
