"""``masker.context`` decides, in one documented precedence, what applies to a request. These run
the real resolver over real settings, policies and agents tables (no server needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from masker.agents import AgentTable, load_agent_table
from masker.context import ContextResolver, Upstreams
from masker.errors import Forbidden, Unauthorized
from masker.failmode import FailMode
from masker.policy import load_policies, policy_from_mapping
from masker.settings import Settings
from masker.upstream.client import UpstreamClient
from masker.upstream.echo import EchoTransport

REPO = Path(__file__).resolve().parents[2]
AGENT = "agt_01JTEST00000000000000000C1"
OPEN_AGENT = "agt_01JTEST00000000000000000C2"


def _setup(
    tmp_path: Path, env: dict[str, str], agents: list[dict[str, Any]]
) -> tuple[ContextResolver, AgentTable]:
    agents_file = tmp_path / "agents.yaml"
    agents_file.write_text(yaml.safe_dump({"version": 1, "agents": agents}))
    settings = Settings.from_env(
        {
            "MASKER_DATA_DIR": str(tmp_path / "data"),
            "MASKER_AGENTS_FILE": str(agents_file),
            "MASKER_POLICIES_DIR": str(REPO / "policies"),
            "MASKER_OPENAI_BASE_URL": "http://upstream.invalid/v1",
            "MASKER_OPENAI_API_KEY": "sk-operator",
        }
        | env
    )
    policies = load_policies(settings.policies_dir)
    table = load_agent_table(settings, policies)
    transport = EchoTransport()
    upstreams = Upstreams(
        real=UpstreamClient(transport),
        echo=UpstreamClient(transport),
        default_base_url=settings.upstream.base_url,
        default_api_key=settings.upstream.api_key,
        echo_default=settings.upstream.echo,
    )
    return ContextResolver(settings, policies, upstreams), table


def _body(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}


@pytest.mark.parametrize(
    ("setting", "tenant", "expected"),
    [
        ("tenant-one", "tenant-one", "Bearer sk-operator"),
        ("*", "tenant-two", "Bearer sk-operator"),
        ("tenant-one", "tenant-two", None),
        ("", "tenant-one", None),
    ],
)
def test_the_operator_key_goes_to_a_tenant_only_when_configured(
    tmp_path: Path, setting: str, tenant: str, expected: str | None
) -> None:
    resolver, table = _setup(
        tmp_path,
        {"MASKER_API_KEYS": "k1:tenant-one,k2:tenant-two", "MASKER_TENANT_OPERATOR_KEY": setting},
        [],
    )
    caller = next(a for a in table.tenants.values() if a.name == tenant)
    # A caller's own key always goes through as it came.
    own = resolver.resolve(caller, {"authorization": "Bearer sk-caller"}, _body(), pass_headers=())
    assert own.upstream.headers["authorization"] == "Bearer sk-caller"
    if expected is None:
        with pytest.raises(Unauthorized) as info:
            resolver.resolve(caller, {}, _body(), pass_headers=())
        assert info.value.code == "missing_upstream_key"
    else:
        ctx = resolver.resolve(caller, {}, _body(), pass_headers=())
        assert ctx.upstream.headers["authorization"] == expected


def test_agents_use_the_operator_key_and_never_the_callers(tmp_path: Path) -> None:
    resolver, table = _setup(tmp_path, {}, [{"id": AGENT, "name": "a"}])
    ctx = resolver.resolve(
        table.agents[AGENT], {"authorization": "Bearer sk-caller"}, _body(), pass_headers=()
    )
    assert ctx.upstream.headers["authorization"] == "Bearer sk-operator"


def test_strip_fields_are_the_agents_and_the_policys(tmp_path: Path) -> None:
    resolver, table = _setup(
        tmp_path, {}, [{"id": AGENT, "name": "a", "policy": "healthcare", "strip_fields": ["phoneNumber"]}]
    )
    agent = table.agents[AGENT]
    first = resolver.resolve(agent, {}, _body(), pass_headers=())
    assert "phoneNumber" in first.policy.strip_fields
    assert first.policy.strip_fields >= resolver.policies["healthcare"].strip_fields
    assert first.policy.name == "healthcare" and first.policy.scan_response
    # The same combination gives the same object: the findings cache keys on its DetectOptions.
    assert resolver.resolve(agent, {}, _body(), pass_headers=()).policy is first.policy


def test_the_allow_list_is_the_only_way_to_another_policy(tmp_path: Path) -> None:
    resolver, table = _setup(
        tmp_path,
        {},
        [{"id": AGENT, "name": "a", "allowed_policies": ["healthcare"]}, {"id": OPEN_AGENT, "name": "b"}],
    )
    chosen = resolver.resolve(table.agents[AGENT], {}, _body(policy_id="healthcare"), pass_headers=())
    assert chosen.policy.name == "healthcare"
    with pytest.raises(Forbidden):
        resolver.resolve(table.agents[OPEN_AGENT], {}, _body(policy_id="healthcare"), pass_headers=())
    body = _body(policy_id="default")
    assert resolver.resolve(table.agents[OPEN_AGENT], {}, body, pass_headers=()).policy.name == "default"
    assert "policy_id" not in body  # Masker's own field is never forwarded


def test_fail_mode_precedence_policy_then_agent_then_default(tmp_path: Path) -> None:
    resolver, table = _setup(
        tmp_path,
        {"MASKER_DEFAULT_FAIL_MODE": "closed"},
        [
            {"id": AGENT, "name": "a", "fail_mode": "open"},
            {"id": OPEN_AGENT, "name": "b", "fail_mode": "open", "policy": "healthcare"},
        ],
    )
    assert resolver.resolve(table.agents[AGENT], {}, _body(), pass_headers=()).fail_mode is FailMode.OPEN
    # healthcare says `fail_mode: degrade`: the policy wins over the agent's `open`.
    health = resolver.resolve(table.agents[OPEN_AGENT], {}, _body(), pass_headers=())
    assert health.fail_mode is FailMode.DEGRADE
    assert health.policy.detect_options().on_ner_failure == "degrade"
    plain = resolver.resolve(
        _setup(tmp_path, {}, [{"id": AGENT, "name": "a"}])[1].agents[AGENT], {}, _body(), pass_headers=()
    )
    assert plain.fail_mode is FailMode.CLOSED and plain.policy.detect_options().on_ner_failure == "raise"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, None),
        ({"ner_failure": "closed"}, None),
        ({"ner_failure": "degrade"}, FailMode.DEGRADE),
        ({"fail_mode": "closed", "ner_failure": "degrade"}, FailMode.DEGRADE),
        ({"fail_mode": "open", "ner_failure": "degrade"}, FailMode.OPEN),
        ({"fail_mode": "degrade"}, FailMode.DEGRADE),
    ],
)
def test_the_older_ner_failure_key_maps_onto_the_one_fail_mode(
    data: dict[str, str], expected: FailMode | None
) -> None:
    assert policy_from_mapping({"version": 1, **data}, name="p").fail_mode is expected


def test_tenant_rate_limit_comes_from_settings(tmp_path: Path) -> None:
    _, table = _setup(
        tmp_path,
        {"MASKER_API_KEYS": "k1:t1", "MASKER_TENANT_RPS": "2500", "MASKER_TENANT_BURST": "5000"},
        [{"id": AGENT, "name": "a"}],
    )
    tenant = table.tenants["k1"]
    assert (tenant.rps, tenant.burst) == (2500.0, 5000)
    assert (table.agents[AGENT].rps, table.agents[AGENT].burst) == (100.0, 200)


def test_the_platform_profile_feeds_the_context(tmp_path: Path) -> None:
    """The platform's conversation id is the token scope, its fields are stripped before anything
    else reads the body, and a ``policy_id`` is still checked on a platform that strips every
    unknown field (it is read before the profile runs, never silently dropped)."""
    resolver, table = _setup(
        tmp_path, {}, [{"id": AGENT, "name": "vapi", "policy": "healthcare", "platform": "vapi"}]
    )
    agent = table.agents[AGENT]
    body = _body(call={"id": "call-1818", "customer": {"number": "+15555550123"}}, phoneNumber={"x": 1})
    ctx = resolver.resolve(agent, {}, body, pass_headers=())
    assert ctx.conversation == "call-1818"
    assert not {"call", "phoneNumber"} & body.keys()
    assert ctx.turn.known  # the caller's number is a known value of this conversation
    # A conversation header outranks the platform's own id.
    body = _body(call={"id": "call-1818"})
    named = resolver.resolve(agent, {"x-masker-conversation-id": "conv-9"}, body, pass_headers=())
    assert named.conversation == "conv-9"
    with pytest.raises(Forbidden):
        resolver.resolve(agent, {}, _body(call={"id": "c"}, policy_id="default"), pass_headers=())
