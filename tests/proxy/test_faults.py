"""Faults through a real `masker serve`: PostgreSQL vault lost mid-run (fail closed) and Redis down
(local rate limits). Nothing hangs, nothing leaks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from faker import Faker

from tests import synthetic
from tests.fake_upstream import FakeUpstream
from tests.proxy.conftest import write_agents
from tests.proxy_process import ProxyProcess, free_port, start_proxy
from tests.tcp_relay import TcpRelay

AGENT = "agt_01JTEST0000000000000000PG1"
PG = "postgresql://postgres@127.0.0.1:5432/{db}"


@pytest.fixture
def pg_database() -> Iterator[str]:
    name = f"masker_fault_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG.format(db="postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(PG.format(db="postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_phone(fake: Faker) -> str:
    return f"({fake.random_int(201, 989)}) 555-{fake.random_int(100, 999):04d}"


def test_postgres_vault_lost_fails_closed(
    upstream: FakeUpstream, pg_database: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("pgfault")
    relay = TcpRelay(("127.0.0.1", 5432))
    agents = work / "agents.yaml"
    write_agents(agents, [{"id": AGENT, "name": "pg-agent"}])
    proxy = start_proxy(
        {
            "MASKER_OPENAI_BASE_URL": upstream.base_url,
            "MASKER_AGENTS_FILE": str(agents),
            "MASKER_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{relay.port}/{pg_database}",
        },
        work,
    )
    fake = Faker()
    fake.seed_instance(99)
    url = f"{proxy.url}/proxy/{AGENT}/v1/chat/completions"
    try:
        phone = _fresh_phone(fake)
        synthetic.register(phone)
        ok = httpx.post(
            url,
            timeout=10,
            json={"model": "echo", "messages": [{"role": "user", "content": f"Call {phone} now"}]},
        )
        assert ok.status_code == 200 and phone in ok.text
        assert httpx.get(f"{proxy.url}/health").json()["db"] == "ok"

        relay.cut()
        # The write that meets the outage runs while its (tokenized) request is with the upstream:
        # the answer is withheld. From then on nothing is forwarded until the vault answers again.
        for attempt in ("first", "next"):
            sent_before = len(upstream.requests)
            phone = _fresh_phone(fake)
            synthetic.register(phone)
            started = time.monotonic()
            failed = httpx.post(
                url,
                timeout=30,
                json={"model": "echo", "messages": [{"role": "user", "content": f"Call {phone} now"}]},
            )
            assert time.monotonic() - started < 15, "a vault outage must not hang the request"
            assert failed.status_code == 503
            assert failed.json()["error"]["code"] == "redaction_failed"
            assert phone not in failed.text
            forwarded = upstream.requests[sent_before:]
            assert all(phone not in c.body.decode() for c in forwarded), "the upstream saw a value"
            if attempt == "next":
                assert not forwarded, "nothing may be forwarded once a vault write has failed"
        health = httpx.get(f"{proxy.url}/health", timeout=15)
        assert health.status_code == 503 and health.json()["db"] == "error"
    finally:
        proxy.stop()
        relay.close()


def test_redis_down_falls_back_to_local_limits(
    upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("redisfault")
    agents = work / "agents.yaml"
    agent = "agt_01JTEST0000000000000000RD1"
    write_agents(agents, [{"id": agent, "name": "redis-agent", "rate_limit": {"rps": 1, "burst": 2}}])
    proxy: ProxyProcess = start_proxy(
        {
            "MASKER_OPENAI_BASE_URL": upstream.base_url,
            "MASKER_AGENTS_FILE": str(agents),
            "MASKER_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        },
        work,
    )
    try:
        started = time.monotonic()
        codes = [
            httpx.post(
                f"{proxy.url}/proxy/{agent}/v1/chat/completions",
                timeout=10,
                json={"model": "echo", "messages": [{"role": "user", "content": "hello"}]},
            ).status_code
            for _ in range(5)
        ]
        assert time.monotonic() - started < 10
        assert codes[:2] == [200, 200] and 429 in codes[2:], codes
    finally:
        proxy.stop()
