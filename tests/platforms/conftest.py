"""A real ``masker serve`` in front of the strict fake upstream, with one agent per voice platform
(``platform:`` set) and one that auto-detects. Fixtures are recorded request shapes with synthetic
values (tests/platforms/fixtures/*.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import synthetic
from tests.fake_upstream import FakeUpstream, start_fake_upstream
from tests.proxy_process import ProxyProcess, start_proxy

FIXTURES = Path(__file__).parent / "fixtures"
PLATFORMS = ("vapi", "elevenlabs", "retell", "bolna", "livekit", "pipecat")
AGENTS = {name: f"agt_01JP{i:022d}" for i, name in enumerate(PLATFORMS, start=1)}
AUTO_AGENT = "agt_01JPA000000000000000000000"
LIMITED_AGENT = "agt_01JPM000000000000000000000"
SCANNING_AGENT = "agt_01JPS000000000000000000000"  # policy healthcare: scan_response on
STRIP_AGENT = "agt_01JPT000000000000000000000"  # strip_fields of its own (not the policy's)
API_KEY = "platforms-tenant-key"


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    synthetic.register(*data["phi"])
    return data


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    fake = start_fake_upstream()
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def proxy(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    work = tmp_path_factory.mktemp("platforms")
    agents: list[dict[str, Any]] = [
        {"id": agent_id, "name": name, "platform": name} for name, agent_id in AGENTS.items()
    ]
    agents.append({"id": AUTO_AGENT, "name": "auto"})
    agents.append(
        {
            "id": LIMITED_AGENT,
            "name": "limited",
            "upstream": {"allowed_models": ["gpt-4o-mini", "echo", "own"]},
        }
    )
    agents.append({"id": SCANNING_AGENT, "name": "scanning", "policy": "healthcare"})
    agents.append({"id": STRIP_AGENT, "name": "stripping", "strip_fields": ["metadata", "user"]})
    agents_file = work / "agents.yaml"
    agents_file.write_text(yaml.safe_dump({"version": 1, "agents": agents}))
    proc = start_proxy(
        {
            "MASKER_OPENAI_BASE_URL": upstream.base_url,
            "MASKER_OPENAI_API_KEY": "sk-operator-upstream-key",
            "MASKER_AGENTS_FILE": str(agents_file),
            "MASKER_API_KEYS": f"{API_KEY}:platform-tenant",
            "MASKER_UPSTREAM_TIMEOUT": "5",
            "MASKER_AUDIT_DIR": str(work / "audit"),
        },
        work,
    )
    yield proc
    proc.stop()
