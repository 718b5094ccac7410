"""Policies: validation at load (clear ConfigError, never half-applied), the shipped policies, and
what each action does to a value on its way to the upstream."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from masker.detect.types import Entity
from masker.errors import ConfigError
from masker.policy import Action, Policy, load_policies, load_policy_file, policy_from_mapping
from masker.redaction import redact_request
from masker.tokens.codec import Codec
from masker.tokens.rehydrate import rehydrate_text

from .conftest import make_ring
from .planted import PlantedDetector

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colour": "red"}, "unknown keys ['colour']"),
        ({"version": 2}, "unsupported version 2"),
        ({"categories": {"EMAIL": "scramble"}}, "unknown action 'scramble'"),
        ({"categories": {"BLOOD_TYPE": "mask"}}, "unknown entity type 'BLOOD_TYPE'"),
        ({"categories": {"EMAIL": {"action": "mask", "colour": 1}}}, "unknown keys ['colour']"),
        ({"categories": {"EMAIL": {"action": "mask", "threshold": 1.5}}}, "between 0 and 1"),
        ({"thresholds": {"PERSON": -0.1}}, "between 0 and 1"),
        ({"thresholds": {"PERSON": "high"}}, "must be a number"),
        ({"thresholds": {"PERSON": True}}, "must be a number"),
        ({"thresholds": ["PERSON"]}, "thresholds must be a mapping"),
        ({"thresholds": {"NOPE": 0.5}}, "unknown entity type 'NOPE'"),
        ({"default_threshold": 7}, "between 0 and 1"),
        ({"categories": ["EMAIL"]}, "categories must be a mapping"),
        ({"fail_mode": "sideways"}, "fail_mode must be one of"),
        ({"ner_failure": "ignore"}, "ner_failure must be one of"),
        ({"non_text_parts": "ocr"}, "non_text_parts must be one of"),
        ({"scan_response": "false"}, "scan_response must be true or false"),
        ({"allow": "everything"}, "allow must be a list of strings"),
        ([1, 2], "top level must be a mapping"),
    ],
)
def test_invalid_policies_are_rejected_with_a_clear_message(data: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_mapping(data, name="p")
    assert message in str(info.value)
    assert "'p'" in str(info.value)


def test_an_invalid_file_fails_the_whole_load(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\ncategories: {EMAIL: mask}\n")
    (tmp_path / "b.yaml").write_text("version: 1\ncategories: {EMAIL: explode}\n")
    with pytest.raises(ConfigError, match="explode"):
        load_policies(tmp_path)
    (tmp_path / "b.yaml").write_text("name: a\nversion: 1\n")
    with pytest.raises(ConfigError, match="already defined"):
        load_policies(tmp_path)
    (tmp_path / "c.yaml").write_text("version: [1\n")
    with pytest.raises(ConfigError, match="cannot be read as YAML"):
        load_policy_file(tmp_path / "c.yaml")


def test_shipped_policies_load() -> None:
    policies = load_policies(POLICIES_DIR)
    assert {"default", "healthcare"} <= set(policies)
    default, health = policies["default"], policies["healthcare"]
    assert all(default.action_for(e) is Action.TOKENIZE for e in Entity)
    assert health.action_for(Entity.SECRET) is Action.PLACEHOLDER
    assert health.action_for(Entity.ORGANIZATION) is Action.KEEP
    assert health.action_for(Entity.PHONE) is Action.TOKENIZE
    assert health.scan_response is True
    assert dict(health.thresholds)[Entity.PERSON] == 0.45


def test_default_category_applies_wherever_it_is_written() -> None:
    policy = policy_from_mapping(
        {"categories": {"EMAIL": {"threshold": 0.9}, "default": "mask", "phone": "keep"}}, name="p"
    )
    assert policy.action_for(Entity.EMAIL) is Action.MASK
    assert policy.action_for(Entity.PHONE) is Action.KEEP
    assert policy.action_for(Entity.SSN) is Action.MASK
    assert dict(policy.thresholds)[Entity.EMAIL] == 0.9


async def _redact(action: Action, value: str, entity: Entity = Entity.EMAIL) -> tuple[str, Codec]:
    codec = Codec("agent-pol", make_ring("K1"))
    session = codec.session("c")
    body = {"model": "m", "messages": [{"role": "user", "content": f"Write to {value} today."}]}
    policy = Policy(actions={entity: action})
    out = await redact_request(
        body, detector=PlantedDetector({value: entity}), policy=policy, session=session, fail_mode="closed"
    )
    content = out.body["messages"][0]["content"]
    assert isinstance(content, str)
    # Only tokenize is reversible (keep never changed the text).
    assert (await rehydrate_text(session, content) == f"Write to {value} today.") is (
        action in (Action.TOKENIZE, Action.KEEP)
    )
    return content, codec


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (Action.MASK, "Write to *** today."),
        (Action.PLACEHOLDER, "Write to <EMAIL> today."),
        (Action.DROP, "Write to  today."),
        (Action.KEEP, "Write to ana@example.org today."),
    ],
)
async def test_fixed_actions(action: Action, expected: str) -> None:
    content, _ = await _redact(action, "ana@example.org")
    assert content == expected


async def test_tokenize_is_reversible_and_labelled() -> None:
    content, _ = await _redact(Action.TOKENIZE, "ana@example.org")
    assert content.startswith("Write to MSKV1.EMAIL.") and "ana@" not in content


async def test_hash_is_keyed_hmac_not_a_plain_hash() -> None:
    value = "555-123-4567"
    content, codec = await _redact(Action.HASH, value, Entity.PHONE)
    digest = content.removeprefix("Write to ").removesuffix(" today.")
    key = codec.keyring.current.derive("hash", "agent-pol")
    assert digest == "[" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:12] + "]"
    assert hashlib.sha256(value.encode()).hexdigest()[:12] not in digest
    # Stable for the same agent (joins across requests work), different for another agent.
    assert Codec("agent-pol", make_ring("K1")).hash_value(value) == digest
    assert Codec("other", make_ring("K1")).hash_value(value) != digest


async def test_tool_call_arguments_stay_valid_json() -> None:
    codec = Codec("agent-pol", make_ring("K1"))
    session = codec.session("c")
    args = json.dumps({"email": 'ana"q@example.org'})
    body = {
        "model": "m",
        "messages": [
            {"role": "assistant", "tool_calls": [{"id": "1", "function": {"name": "f", "arguments": args}}]}
        ],
    }
    out = await redact_request(
        body,
        detector=PlantedDetector({'ana"q@example.org': Entity.EMAIL}),
        policy=Policy(),
        session=session,
        fail_mode="closed",
    )
    sent = out.body["messages"][0]["tool_calls"][0]["function"]["arguments"]
    assert 'ana\\"q' not in sent and json.loads(sent)["email"].startswith("MSKV1.EMAIL.")
