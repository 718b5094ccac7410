"""MaskerAgent spec validation beyond the CRD schema (pure, no cluster)."""

from __future__ import annotations

from typing import Any

import pytest

from masker_operator.errors import SpecError
from masker_operator.spec import AgentSpec, SecretRef, parse_spec


def test_defaults_match_the_crd() -> None:
    spec = parse_spec({"upstream": {}})
    assert spec == AgentSpec()
    assert (spec.rps, spec.burst, spec.tokenization, spec.fail_mode) == (100, 200, "vault", "closed")
    assert spec.policy == "default"


def test_full_spec() -> None:
    spec = parse_spec(
        {
            "upstream": {
                "baseUrl": "https://llm.example.test/v1",
                "allowedModels": ["gpt-4o-mini", "gpt-4o"],
                "apiKeySecretRef": {"name": "openai"},
            },
            "policy": {"name": "healthcare", "categories": {"PHONE": "mask", "EMAIL": {"action": "hash"}}},
            "tokenization": "reversible-aead",
            "failMode": "open",
            "rateLimit": {"rps": 5, "burst": 9},
            "vapiSecretRef": {"name": "vapi", "key": "hmac"},
            "redactionMetadata": True,
            "stripFields": ["user"],
        }
    )
    assert spec.api_key_ref == SecretRef("openai", "apiKey")
    assert spec.vapi_secret_ref == SecretRef("vapi", "hmac")
    assert spec.allowed_models == ("gpt-4o-mini", "gpt-4o")
    assert spec.policy_categories == {"PHONE": "mask", "EMAIL": {"action": "hash"}}
    assert (spec.rps, spec.burst, spec.fail_mode, spec.redaction_metadata) == (5, 9, "open", True)


def test_burst_defaults_to_at_least_rps() -> None:
    assert parse_spec({"rateLimit": {"rps": 500}}).burst == 500


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ({"policy": {"categories": {"PHONE": "obliterate"}}}, "policy.categories.PHONE", "unknown action"),
        (
            {"policy": {"categories": {"PHONE": {"action": "mask", "thresh": 1}}}},
            "policy.categories.PHONE",
            "thresh",
        ),
        (
            {"policy": {"categories": {"PHONE": {"threshold": 1.5}}}},
            "policy.categories.PHONE.threshold",
            "between",
        ),
        ({"policy": {"categories": {"PHONE": 3}}}, "policy.categories.PHONE", "action name"),
        ({"policy": {"categories": {"bad name!": "mask"}}}, "policy.categories", "letters"),
        ({"policy": {"defaultAction": "shred"}}, "policy.defaultAction", "unknown action"),
        ({"policy": {"name": "../etc/passwd"}}, "policy.name", "plain policy name"),
        ({"rateLimit": {"rps": 50, "burst": 10}}, "rateLimit.burst", "at least"),
        ({"rateLimit": {"rps": 0}}, "rateLimit.rps", "between"),
        ({"rateLimit": {"rps": "fast"}}, "rateLimit.rps", "integer"),
        ({"stripFields": ["messages"]}, "stripFields", "messages"),
        ({"upstream": {"baseUrl": "ftp://files.example.test"}}, "upstream.baseUrl", "http(s)"),
        ({"upstream": {"allowedModels": ["a", "a"]}}, "upstream.allowedModels", "duplicates"),
        ({"upstream": {"apiKeySecretRef": {}}}, "upstream.apiKeySecretRef.name", "required"),
        ({"upstream": "https://x"}, "upstream", "object"),
        ({"tokenization": "rot13"}, "tokenization", "must be one of"),
        ({"failMode": "maybe"}, "failMode", "must be one of"),
        ({"redactionMetadata": "yes"}, "redactionMetadata", "true or false"),
    ],
)
def test_invalid_specs_name_the_field(spec: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    assert info.value.field == field
    assert str(info.value).startswith(f"spec.{field}: ")
    assert words in str(info.value)


def test_error_messages_do_not_echo_values() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec({"upstream": {"baseUrl": "not a url 555-12-3456"}})
    assert "555-12-3456" not in str(info.value)


@pytest.mark.parametrize(
    ("spec_token", "annotation", "expected"),
    [(None, None, ""), ("q1", None, "q1"), (None, "a1", "a1"), ("q1", "a1", "q1|a1")],
)
def test_rotation_token_from_spec_and_annotation(
    spec_token: str | None, annotation: str | None, expected: str
) -> None:
    spec: dict[str, Any] = {"keyRotation": {"token": spec_token}} if spec_token else {}
    annotations = {"masker.dev/rotate-keys": annotation} if annotation else {}
    assert parse_spec(spec, annotations).rotation_token == expected


@pytest.mark.parametrize(
    ("value", "central"), [(None, True), ("both", True), ("central", True), ("sidecar", False)]
)
def test_served_by_chooses_central_serving(value: str | None, central: bool) -> None:
    spec = parse_spec({"upstream": {}, **({"servedBy": value} if value else {})})
    assert spec.central is central
    assert spec.served_by == (value or "both")


def test_served_by_rejects_unknown_places() -> None:
    with pytest.raises(SpecError, match=r"spec.servedBy: must be one of \['both', 'central', 'sidecar'\]"):
        parse_spec({"upstream": {}, "servedBy": "edge"})


def test_unknown_policy_names_are_refused_with_the_known_ones_listed() -> None:
    known = {"default", "healthcare", "dental"}
    assert parse_spec({"policy": {"name": "dental"}}, known_policies=known).policy == "dental"
    with pytest.raises(SpecError) as info:
        parse_spec({"policy": {"name": "healthcar"}}, known_policies=known)
    assert info.value.field == "policy.name"
    assert "['default', 'dental', 'healthcare']" in str(info.value)


def test_vault_database_secret_ref() -> None:
    parsed = parse_spec({"vault": {"databaseSecretRef": {"name": "vault-db"}}})
    assert parsed.vault_database_ref is not None
    assert (parsed.vault_database_ref.name, parsed.vault_database_ref.key) == ("vault-db", "url")
    assert parse_spec({}).vault_database_ref is None
    with pytest.raises(SpecError) as info:
        parse_spec({"vault": {"databaseSecretRef": {}}})
    assert info.value.field == "vault.databaseSecretRef.name"
