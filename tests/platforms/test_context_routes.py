"""The request context applies on every route, not only chat completions: through a real
``masker serve``, ``/v1/responses``, ``/v1/messages`` and ``/v1/models`` refuse a caller-chosen
policy, strip the agent's own fields, hold the model allow-list and never spend the operator's
upstream key for a tenant caller that sent none."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from faker import Faker

from tests import synthetic
from tests.fake_upstream import FakeUpstream
from tests.platforms.conftest import API_KEY, LIMITED_AGENT, SCANNING_AGENT, STRIP_AGENT
from tests.proxy_process import ProxyProcess

APIS = ("responses", "messages")


def _body(api: str, text: str, **extra: Any) -> dict[str, Any]:
    if api == "responses":
        return {"model": "echo-c1", "input": text, **extra}
    return {"model": "echo-c1", "max_tokens": 64, "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture(scope="module")
def name() -> str:
    fake = Faker("en_US")
    fake.seed_instance(1818)
    value = f"{fake.first_name()} {fake.last_name()}"
    synthetic.register(value)
    return value


@pytest.mark.parametrize("api", APIS)
def test_caller_cannot_pick_a_weaker_policy(proxy: ProxyProcess, upstream: FakeUpstream, api: str) -> None:
    since = len(upstream.requests)
    response = httpx.post(
        f"{proxy.url}/proxy/{SCANNING_AGENT}/v1/{api}",
        json=_body(api, "Hello there.", policy_id="default"),
        timeout=30,
    )
    assert response.status_code == 403
    assert "policy" in response.text
    assert len(upstream.requests) == since, "a refused request reached the upstream"


@pytest.mark.parametrize("api", APIS)
def test_agent_strip_fields_apply(proxy: ProxyProcess, upstream: FakeUpstream, api: str, name: str) -> None:
    since = len(upstream.requests)
    extra: dict[str, Any] = {"metadata": {"patient": name}}
    if api == "responses":
        extra["user"] = name
    response = httpx.post(
        f"{proxy.url}/proxy/{STRIP_AGENT}/v1/{api}", json=_body(api, "Hello there.", **extra), timeout=30
    )
    assert response.status_code == 200, response.text
    sent = upstream.requests[since:]
    assert len(sent) == 1
    assert not {"metadata", "user"} & set(sent[0].json)
    assert name.lower() not in sent[0].body.decode().lower()


@pytest.mark.parametrize("api", APIS)
def test_model_allow_list(proxy: ProxyProcess, upstream: FakeUpstream, api: str) -> None:
    since = len(upstream.requests)
    body = {**_body(api, "Hello there."), "model": "gpt-not-allowed"}
    response = httpx.post(f"{proxy.url}/proxy/{LIMITED_AGENT}/v1/{api}", json=body, timeout=30)
    assert response.status_code == 422
    assert len(upstream.requests) == since


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/responses", _body("responses", "Hello there.")),
        ("POST", "/v1/messages", _body("messages", "Hello there.")),
        ("GET", "/v1/models", None),
    ],
)
def test_tenant_without_its_own_key_is_refused(
    proxy: ProxyProcess, upstream: FakeUpstream, method: str, path: str, body: dict[str, Any] | None
) -> None:
    since = len(upstream.requests)
    response = httpx.request(
        method, f"{proxy.url}{path}", json=body, headers={"x-api-key": API_KEY}, timeout=30
    )
    assert response.status_code == 401
    assert len(upstream.requests) == since, "the operator's upstream key was spent for a tenant caller"
