"""Operator settings from MASKER_OPERATOR_* variables."""

from __future__ import annotations

import pytest

from masker_operator.errors import OperatorError
from masker_operator.settings import OperatorSettings


def test_defaults() -> None:
    settings = OperatorSettings.from_env({})
    assert settings.public_url is None
    assert settings.namespaces == ()
    assert settings.webhook.failure_policy == "Fail"
    assert settings.webhook.url_host is None
    assert settings.sidecar.port == 8080


def test_values() -> None:
    settings = OperatorSettings.from_env(
        {
            "MASKER_OPERATOR_PUBLIC_URL": "https://masker.example.test/",
            "MASKER_OPERATOR_NAMESPACES": "a, b",
            "MASKER_OPERATOR_DRIFT_INTERVAL": "2.5",
            "MASKER_OPERATOR_PROXY_IMAGE": "img:1",
            "MASKER_OPERATOR_INJECT_BASE_URL": "yes",
            "MASKER_OPERATOR_WEBHOOK_FAILURE_POLICY": "Fail",
            "POD_NAMESPACE": "ops",
        }
    )
    assert settings.public_url == "https://masker.example.test"
    assert settings.namespaces == ("a", "b")
    assert settings.drift_interval == 2.5
    assert settings.sidecar.image == "img:1" and settings.sidecar.base_url_env_default
    assert settings.webhook.failure_policy == "Fail"
    assert settings.webhook.service_namespace == "ops"


@pytest.mark.parametrize(
    "env",
    [
        {"MASKER_OPERATOR_WEBHOOK_FAILURE_POLICY": "Sometimes"},
        {"MASKER_OPERATOR_PUBLIC_URL": "masker.example.test"},
        {"MASKER_OPERATOR_WEBHOOK_PORT": "https"},
        {"MASKER_OPERATOR_INJECT_BASE_URL": "perhaps"},
    ],
)
def test_bad_values_are_rejected(env: dict[str, str]) -> None:
    with pytest.raises(OperatorError):
        OperatorSettings.from_env(env)
