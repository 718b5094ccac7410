"""The proxy with a remote NER service that dies under load: fail closed -> 503, degrade -> patterns.

Real processes throughout: ``masker ner serve``, ``masker serve`` (``MASKER_NER_ADDR`` pointing at
it) and the fake OpenAI upstream, all on loopback. Two agents share the proxy: one on the default
policy (``ner_failure: closed``), one on the healthcare policy (``ner_failure: degrade``).
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from faker import Faker

from masker.detect.engine import DetectionEngine
from masker.detect.types import Entity
from masker_contracts.ner import NerSpan
from masker_ner.model import SpacyNer
from tests.fake_upstream import FakeUpstream, start_fake_upstream
from tests.ner.ner_harness import NerServer
from tests.proxy_process import ProxyProcess, start_proxy

CLOSED = "agt_01JNERTEST0000000000000001"
DEGRADE = "agt_01JNERTEST0000000000000002"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Caller:
    name: str
    phone: str

    def text(self) -> str:
        # No cue before the name ("this is …" would let the pattern layer find it without NER).
        return f"Can you ask {self.name} to call me back at {self.phone} about my results?"


def callers(seed: int, model: SpacyNer) -> Iterator[Caller]:
    """New callers whose name the model tags as PERSON, so the healthy phase can require every
    name to be tokenized without depending on the small model's recall, and which the pattern layer
    does not find (a name the lexicon holds needs no model, so losing NER would not matter)."""
    patterns = DetectionEngine(ner=None)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    seen: set[str] = set()
    while True:
        name = f"{fake.first_name()} {fake.last_name()}"
        if name in seen:  # each text must be new, or the detection cache answers without NER
            continue
        seen.add(name)
        caller = Caller(name, f"({fake.random_int(201, 989)}) 555-{fake.random_int(1000, 9999):04d}")
        start = caller.text().index(name)
        found = patterns.pattern_candidates(caller.text())
        if any(f.entity is Entity.PERSON and f.start < start + len(name) and f.end > start for f in found):
            continue
        if NerSpan(start, start + len(name), "PERSON") in model.analyze([caller.text()])[0]:
            yield caller


@dataclass
class Outcome:
    agent: str
    caller: Caller
    phase: str  # "before" the kill, "during" (signal sent, exit not yet seen), "after" the exit
    status: int
    body: dict[str, Any]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[NerServer, ProxyProcess, FakeUpstream]]:
    ner = NerServer().start(tmp_path)
    upstream = start_fake_upstream()
    proxy: ProxyProcess | None = None
    try:
        ner.wait_serving()
        agents = tmp_path / "agents.yaml"
        table = [
            {"id": CLOSED, "name": "closed", "policy": "default", "redaction_metadata": True},
            {"id": DEGRADE, "name": "degrade", "policy": "healthcare", "redaction_metadata": True},
        ]
        agents.write_text(yaml.safe_dump({"version": 1, "agents": table}))
        proxy = start_proxy(
            {
                "MASKER_OPENAI_BASE_URL": upstream.base_url,
                "MASKER_OPENAI_API_KEY": "sk-test-upstream",
                "MASKER_AGENTS_FILE": str(agents),
                "MASKER_NER_ADDR": ner.addr,
                # Generous while healthy: 2 cores shared by three processes and the load generator.
                # (The 80 ms default and the deadline path are covered in test_ner_client.py.)
                "MASKER_NER_TIMEOUT_MS": "2000",
            },
            tmp_path,
        )
        yield ner, proxy, upstream
    finally:
        if proxy is not None:
            proxy.stop()
        upstream.close()
        ner.stop()


async def test_kill_ner_under_load_fail_closed_and_degrade(
    stack: tuple[NerServer, ProxyProcess, FakeUpstream], spacy_ner: SpacyNer
) -> None:
    ner, proxy, upstream = stack
    people = callers(505, spacy_ner)
    phase = "before"
    outcomes: list[Outcome] = []
    stop = asyncio.Event()

    async def worker(client: httpx.AsyncClient, agent: str) -> None:
        while not stop.is_set():
            caller = next(people)
            sent_in = phase
            response = await client.post(
                f"{proxy.url}/proxy/{agent}/v1/chat/completions",
                json={"model": "echo", "messages": [{"role": "user", "content": caller.text()}]},
            )
            ended_in = phase
            outcomes.append(
                Outcome(agent, caller, sent_in if sent_in == ended_in else "during", response.status_code,
                        response.json())
            )  # fmt: skip

    def count(agent: str, in_phase: str) -> int:
        return sum(1 for o in outcomes if o.agent == agent and o.phase == in_phase)

    async def until(predicate: Any) -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    async with httpx.AsyncClient(timeout=30) as client:
        workers = [asyncio.create_task(worker(client, agent)) for agent in (CLOSED, DEGRADE) * 3]
        await asyncio.wait_for(
            until(lambda: min(count(CLOSED, "before"), count(DEGRADE, "before")) >= 10), 120
        )
        phase = "during"
        ner.signal(signal.SIGKILL)
        await asyncio.to_thread(ner.wait_exit)
        phase = "after"
        enough = lambda: min(count(CLOSED, "after"), count(DEGRADE, "after")) >= 15  # noqa: E731
        await asyncio.wait_for(until(enough), 120)
        stop.set()
        await asyncio.gather(*workers)

    sent = "\n".join(c.body.decode() for c in upstream.requests)
    before = [o for o in outcomes if o.phase == "before"]
    after = [o for o in outcomes if o.phase == "after"]

    # Healthy: both agents answer, with NER (names) and patterns (phones) tokenized, not degraded.
    for o in before:
        assert o.status == 200, (o.body, proxy.log()[-3000:])
        assert o.body["choices"][0]["message"]["content"] == o.caller.text()  # rehydrated
        assert "degraded" not in o.body["_redaction"]
        assert o.caller.name not in sent and o.caller.phone not in sent

    # NER gone, fail closed: 503, OpenAI-shaped, nothing forwarded, no PHI in the error.
    closed_after = [o for o in after if o.agent == CLOSED]
    for o in closed_after:
        assert o.status == 503
        assert o.body["error"]["code"] == "redaction_failed"
        assert o.caller.name not in json.dumps(o.body) and o.caller.phone not in json.dumps(o.body)
        assert o.caller.phone not in sent and o.caller.name not in sent

    # NER gone, degrade: served on pattern recognizers only, and the response says so.
    degrade_after = [o for o in after if o.agent == DEGRADE]
    for o in degrade_after:
        assert o.status == 200, o.body
        assert o.body["_redaction"]["degraded"] is True
        assert o.body["choices"][0]["message"]["content"] == o.caller.text()
        assert o.caller.phone not in sent  # the phone pattern still protected it

    # Nothing else went wrong during the transition either (no 500s, no hangs: all calls returned).
    assert {o.status for o in outcomes} <= {200, 503}
    log = proxy.log()
    assert not any(o.caller.name in log or o.caller.phone in log for o in outcomes)
