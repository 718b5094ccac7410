from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from faker import Faker

from tests import synthetic
from tests.fake_upstream import FakeUpstream, start_fake_upstream
from tests.proxy_process import ProxyProcess, start_proxy

AGENT = "agt_01JTEST0000000000000000001"
AGENT_RESTRICTED = "agt_01JTEST0000000000000000002"
AGENT_AEAD = "agt_01JTEST0000000000000000003"
AGENT_HEALTH = "agt_01JTEST0000000000000000004"  # healthcare policy, strips a platform's phoneNumber
API_KEY = "test-key-1"


@dataclass(frozen=True)
class Phi:
    """Synthetic identifiers (Faker, seeded) used across the gateway tests."""

    name: str
    phone: str
    email: str
    ssn: str

    def sentence(self) -> str:
        return f"Hi, this is {self.name}. Call me at {self.phone} or email {self.email}; SSN {self.ssn}."

    def values(self) -> list[str]:
        return [self.name, self.phone, self.email, self.ssn]


@pytest.fixture(scope="session")
def phi() -> Phi:
    fake = Faker("en_US")
    fake.seed_instance(4242)
    area = fake.random_int(201, 989)
    values = Phi(
        name=f"{fake.first_name()} {fake.last_name()}",
        phone=f"({area}) 555-{fake.random_int(100, 999):04d}",
        email=fake.user_name() + "@example.com",
        ssn="-".join(
            (
                f"{fake.random_int(100, 665):03d}",
                f"{fake.random_int(10, 99):02d}",
                f"{fake.random_int(1000, 9999):04d}",
            )
        ),
    )
    synthetic.register(*values.values())
    return values


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    fake = start_fake_upstream()
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def proxy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxy")


def write_agents(path: Path, agents: list[dict[str, object]]) -> None:
    replace_text(path, yaml.safe_dump({"version": 1, "agents": agents}))


def replace_text(path: Path, text: str) -> None:
    """Swap the file whole, as a ConfigMap update does: the proxy's watcher polls while tests write,
    and a half-written file can parse as a valid table without the agents the next test needs."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


@pytest.fixture(scope="session")
def proxy(upstream: FakeUpstream, proxy_dir: Path) -> Iterator[ProxyProcess]:
    agents_file = proxy_dir / "agents.yaml"
    write_agents(
        agents_file,
        [
            {"id": AGENT, "name": "front-desk", "allowed_policies": ["healthcare"]},
            {"id": AGENT_RESTRICTED, "name": "restricted", "upstream": {"allowed_models": ["echo"]}},
            {
                "id": AGENT_AEAD,
                "name": "stateless",
                "tokenization": "reversible-aead",
                "redaction_metadata": True,
            },
            {
                "id": AGENT_HEALTH,
                "name": "clinic-voice",
                "policy": "healthcare",
                "strip_fields": ["phoneNumber"],
                "redaction_metadata": True,
            },
        ],
    )
    proc = start_proxy(
        {
            "MASKER_OPENAI_BASE_URL": upstream.base_url,
            "MASKER_OPENAI_API_KEY": "sk-agent-upstream-key",
            "MASKER_AGENTS_FILE": str(agents_file),
            "MASKER_API_KEYS": f"{API_KEY}:tenant-one",
            "MASKER_UPSTREAM_TIMEOUT": "3",
            "MASKER_MAX_BODY_BYTES": "200000",
        },
        proxy_dir,
    )
    yield proc
    proc.stop()
