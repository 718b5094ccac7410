"""Platform profiles as pure functions: detection, stripping, known values, logical turns."""

from __future__ import annotations

import asyncio
import copy

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.types import DetectOptions, Entity
from masker.errors import ConfigError
from masker.platforms import (
    AUTO,
    Platform,
    PlatformSetting,
    TurnLedger,
    detect_platform,
    platform_setting,
    prepare,
)
from tests.platforms.conftest import PLATFORMS, load_fixture


def _found(known: list[tuple[Entity, str]], text: str) -> list[str]:
    """What the detection engine (patterns only) reports in ``text`` given ``known``."""
    result = asyncio.run(DetectionEngine(ner=None).detect([text], DetectOptions(), known=known))
    return [text[f.start : f.end] for f in result.findings[0]]


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("vapi", Platform.VAPI),
        ("elevenlabs", Platform.ELEVENLABS),
        ("retell", Platform.GENERIC),  # the body alone is plain OpenAI; the header says Retell
        ("bolna", Platform.BOLNA),
        ("livekit", Platform.GENERIC),
        ("pipecat", Platform.GENERIC),
    ],
)
def test_detect_platform_from_body(platform: str, expected: Platform) -> None:
    fixture = load_fixture(platform)
    body = fixture["body"]
    if platform == "retell":
        body = {k: v for k, v in body.items() if k != "retell_llm_dynamic_variables"}
    assert detect_platform({}, body) is expected


def test_detect_retell_by_header() -> None:
    assert detect_platform({"x-retell-call-id": "c"}, {"messages": []}) is Platform.RETELL


@pytest.mark.parametrize("platform", PLATFORMS)
def test_prepare_strips_platform_fields_and_reads_conversation(platform: str) -> None:
    fixture = load_fixture(platform)
    body = copy.deepcopy(fixture["body"])
    turn = prepare(PlatformSetting(Platform(platform)), "agt_x", fixture["headers"], body)
    assert not set(body) & set(fixture["private_fields"])
    assert set(turn.stripped) == set(fixture["private_fields"])
    expected = {
        "vapi": "call-7f1c2d9a-vapi",
        "elevenlabs": "elevenlabs:el-user-5e0d",
        "retell": "retell-call-0c9b",
        "bolna": "bolna:run-2f9e4b",
        "livekit": "lk-room-88/participant-2",
        "pipecat": "pipecat-session-41",
    }[platform]
    assert turn.conversation_id == expected


def test_vapi_known_values_and_secrets() -> None:
    body = copy.deepcopy(load_fixture("vapi")["body"])
    turn = prepare(AUTO, "agt_x", {}, body)
    assert (Entity.PERSON, "Derek Olsen") in turn.known
    assert (Entity.DATE, "1961-04-12") in turn.known
    assert (Entity.PHONE, "+15555550148") in turn.known
    assert "phoneNumber" not in body and "call" not in body


def test_setting_forward_keeps_a_field_but_drops_its_secrets() -> None:
    body = copy.deepcopy(load_fixture("vapi")["body"])
    prepare(PlatformSetting(Platform.VAPI, forward=frozenset({"phoneNumber"})), "agt_x", {}, body)
    assert body["phoneNumber"] == {"id": "pn-3", "number": "+15555550199", "provider": "twilio"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("this is derek olsen again", ["derek olsen"]),
        ("DEREK\n  OLSEN", ["DEREK\n  OLSEN"]),
        ("thanks derek", ["derek"]),
        ("olsen here", ["olsen"]),
        ("derekolsen", ["derekolsen"]),  # the name written as one word (a login, a file name)
        ("derekson", []),  # not a word boundary: not the name
        ("my number is 555 555 0148", ["555 555 0148"]),
        ("call (555) 555-0148 please", ["(555) 555-0148"]),
        ("1 555 555 0148", ["1 555 555 0148"]),
        ("born 1961 04 12", ["1961 04 12"]),
        ("born 19610412", ["19610412"]),
    ],
)
def test_known_values_any_case_spacing_or_format(text: str, expected: list[str]) -> None:
    known = [(Entity.PERSON, "Derek Olsen"), (Entity.PHONE, "+15555550148"), (Entity.DATE, "1961-04-12")]
    found = _found(known, text)
    assert set(expected) <= set(found) if expected else found == [], found


def test_known_values_of_a_vapi_body_are_found_in_its_messages() -> None:
    body = copy.deepcopy(load_fixture("vapi")["body"])
    turn = prepare(AUTO, "agt_x", {}, body)
    text = "ok derek, we will call (555) 555-0148"
    assert _found([], text) == ["(555) 555-0148"]  # the name has no cue of its own
    assert _found(list(turn.known), text) == ["derek", "(555) 555-0148"]


def test_turn_ledger_once_per_turn_until_expiry() -> None:
    now = [0.0]
    ledger = TurnLedger(ttl_seconds=10, max_turns=2, clock=lambda: now[0])
    assert ledger.repeat("a") is False
    assert ledger.repeat("a") is True
    assert ledger.repeat("b") is False
    assert ledger.repeat("c") is False  # over capacity: the oldest is forgotten
    assert ledger.repeat("a") is False
    now[0] = 100.0
    assert ledger.repeat("c") is False


def test_turn_key_same_for_a_retry_new_for_a_longer_transcript() -> None:
    body = load_fixture("elevenlabs")["body"]
    first = prepare(AUTO, "agt_x", {}, copy.deepcopy(body)).turn_key
    retry = prepare(AUTO, "agt_x", {}, copy.deepcopy(body)).turn_key
    longer = copy.deepcopy(body)
    longer["messages"][-1]["content"] += " and another thing"
    assert first == retry
    assert prepare(AUTO, "agt_x", {}, longer).turn_key != first
    assert prepare(AUTO, "agt_other", {}, copy.deepcopy(body)).turn_key != first


@pytest.mark.parametrize(
    "raw",
    ["nonsense", {"name": "vapi", "strip": "call"}, {"name": "vapi", "typo": 1}, 7, {"strip_unknown": "yes"}],
)
def test_bad_platform_setting_fails_loudly(raw: object) -> None:
    with pytest.raises(ConfigError):
        platform_setting(raw, "agents file: agent 'x'")


def test_platform_setting_forms() -> None:
    assert platform_setting(None, "w") == AUTO
    assert platform_setting("vapi", "w").platform is Platform.VAPI
    parsed = platform_setting({"name": "vapi", "forward": ["metadata"], "strip_unknown": False}, "w")
    assert parsed.forward == frozenset({"metadata"}) and parsed.strip_unknown is False


def test_flags_and_the_business_side_are_not_known_values() -> None:
    body = {
        "messages": [{"role": "user", "content": "hi"}],
        "call": {
            "id": "c",
            "assistantOverrides": {
                "variableValues": {
                    "language": "en",
                    "is_new_patient": "yes",
                    "clinic_name": "Lakeside Family Clinic",
                    "member_ref": "AB-77120",
                    "patient_name": "Dr. Ana Lima",
                }
            },
        },
    }
    turn = prepare(AUTO, "agt_x", {}, body)
    assert set(turn.known) == {(Entity.ID_NUMBER, "AB-77120"), (Entity.PERSON, "Dr. Ana Lima")}
    assert _found(list(turn.known), "yes dr, the family clinic; ana speaking, lima") == ["ana", "lima"]
