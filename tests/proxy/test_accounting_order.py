"""Accounting (metrics, the audit record) runs after the answer has been handed to the server:
the caller's latency is the response, not our bookkeeping. Driven as ASGI against the real app
(echo upstream, in-process detection), with a recorder in place of the observer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml

from masker.http.app import create_app
from masker.pipeline import RequestRecord
from masker.settings import Settings
from tests.proxy.asgi_drive import post
from tests.proxy.conftest import Phi

AGENT = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC7"
REPO = Path(__file__).resolve().parents[2]


async def _call(app: Any, body: bytes, events: list[str]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def on_send(message: dict[str, Any]) -> None:
        events.append(message["type"] + ("" if message.get("more_body") else ":last"))
        sent.append(message)

    await post(app, f"/proxy/{AGENT}/v1/chat/completions", body, on_send)
    return sent


def test_requests_are_accounted_after_the_answer_is_sent(tmp_path: Path, phi: Phi) -> None:
    agents = tmp_path / "agents.yaml"
    agents.write_text(yaml.safe_dump({"version": 1, "agents": [{"id": AGENT, "name": "order"}]}))
    settings = Settings.from_env(
        {
            "MASKER_DATA_DIR": str(tmp_path / "data"),
            "MASKER_AGENTS_FILE": str(agents),
            "MASKER_POLICIES_DIR": str(REPO / "policies"),
            "MASKER_AUDIT_ENABLED": "false",
        }
    )
    endpoints = create_app(settings)

    async def scenario() -> tuple[list[str], list[RequestRecord], list[dict[str, Any]], list[dict[str, Any]]]:
        await endpoints.startup()
        events: list[str] = []
        records: list[RequestRecord] = []

        def observer(record: RequestRecord) -> None:
            events.append(f"observed:{record.status}")
            records.append(record)

        endpoints.extensions["masker"].observer = observer
        try:
            ok_body = {"model": "echo", "messages": [{"role": "user", "content": phi.sentence()}]}
            ok = await _call(endpoints, json.dumps(ok_body).encode(), events)
            bad = await _call(endpoints, b'{"model": "echo", "messages": "not a list"}', events)
        finally:
            await endpoints.shutdown()
        return events, records, ok, bad

    events, records, ok, bad = asyncio.run(scenario())
    assert ok[0]["status"] == 200 and bad[0]["status"] == 400
    assert events == [
        "http.response.start:last",
        "http.response.body:last",
        "observed:200",
        "http.response.start:last",
        "http.response.body:last",
        "observed:400",
    ]
    assert records[0].entities_by_type["PHONE"] == 1 and records[0].entities_by_type["EMAIL"] == 1
