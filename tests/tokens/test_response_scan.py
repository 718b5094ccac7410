"""Response scanning with the real pattern engine: invented PHI is redacted, the caller's own
values (still tokens at that point) are not, and a value split across SSE events at every split
point is still caught (the pii-leak-benchmark ``--exhaustive-splits`` shape)."""

from __future__ import annotations

from typing import Any

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.types import Entity
from masker.policy import Action, Policy
from masker.tokens.codec import Codec
from masker.tokens.rehydrate import StreamRehydrator, rehydrate_text
from masker.tokens.response_scan import StreamScanner, scan_completion, scan_text

from .conftest import make_ring

INVENTED = "415-555-0134"
EMAIL = "dr.kowalski@example.net"


@pytest.fixture
def engine() -> DetectionEngine:
    return DetectionEngine(ner=None)  # pattern recognizers only: deterministic


def _codec() -> Codec:
    return Codec("agent-scan", make_ring("K1"))


async def test_invented_values_are_redacted_tokens_are_not(engine: DetectionEngine) -> None:
    codec = _codec()
    session = codec.session("c")
    token = session.tokenize(Entity.PHONE, "212-555-0199")
    text = f"Your number {token} is on file; call the clinic at {INVENTED} or write to {EMAIL}."
    scanned, count = await scan_text(text, detector=engine, policy=Policy(), codec=codec)
    assert count == {"PHONE": 1, "EMAIL": 1}
    assert INVENTED not in scanned and EMAIL not in scanned
    assert await rehydrate_text(session, scanned) == (
        "Your number 212-555-0199 is on file; call the clinic at the phone number"
        " or write to the email address."
    )


async def test_policy_actions_apply_and_keep_is_kept(engine: DetectionEngine) -> None:
    policy = Policy(actions={Entity.PHONE: Action.MASK, Entity.EMAIL: Action.KEEP})
    scanned, count = await scan_text(
        f"Call {INVENTED} or {EMAIL}.", detector=engine, policy=policy, codec=_codec()
    )
    assert (scanned, count) == (f"Call *** or {EMAIL}.", {"PHONE": 1})


async def test_scan_completion_covers_content_and_tool_arguments(engine: DetectionEngine) -> None:
    data: dict[str, Any] = {
        "choices": [
            {
                "message": {
                    "content": f"Call {INVENTED}.",
                    "tool_calls": [{"function": {"name": "f", "arguments": f'{{"to": "{EMAIL}"}}'}}],
                }
            }
        ]
    }
    policy = Policy(actions={Entity.EMAIL: Action.PLACEHOLDER})
    counts = await scan_completion(data, detector=engine, policy=policy, codec=_codec())
    assert counts == {"PHONE": 1, "EMAIL": 1}
    message = data["choices"][0]["message"]
    assert message["content"] == "Call the phone number."
    assert message["tool_calls"][0]["function"]["arguments"] == '{"to": "<EMAIL>"}'


async def _stream(engine: DetectionEngine, codec: Codec, chunks: list[str]) -> str:
    scanner = StreamScanner(detector=engine, policy=Policy(), codec=codec, window=48)
    out = [await scanner.feed(c) for c in chunks]
    return "".join(out) + await scanner.finish()


async def test_stream_catches_a_value_split_at_every_point(engine: DetectionEngine) -> None:
    codec = _codec()
    text = (
        "Thanks for waiting. The pharmacy says you can reach the on-call nurse at "
        f"{INVENTED} after six, or email {EMAIL} with questions about the refill."
    )
    whole, _ = await scan_text(text, detector=engine, policy=Policy(), codec=codec)
    for i in range(len(text) + 1):
        for j in (i, min(len(text), i + 3), min(len(text), i + 7)):
            chunks = [text[:i], text[i:j], text[j:]]
            out = await _stream(engine, codec, chunks)
            assert INVENTED not in out and EMAIL not in out, (i, j)
            assert out == whole, (i, j)
    assert await _stream(engine, codec, list(text)) == whole


async def test_stream_scan_then_rehydrate_keeps_callers_values(engine: DetectionEngine) -> None:
    codec = _codec()
    session = codec.session("c")
    token = session.tokenize(Entity.PHONE, "212-555-0199")
    text = f"Yours is {token}; the front desk is {INVENTED}."
    scanner = StreamScanner(detector=engine, policy=Policy(), codec=codec, window=32)
    rehydrator = StreamRehydrator(session)
    out = []
    for ch in text:
        out.append(await rehydrator.feed(await scanner.feed(ch)))
    out.append(await rehydrator.feed(await scanner.finish()))
    out.append(await rehydrator.finish())
    assert "".join(out) == "Yours is 212-555-0199; the front desk is the phone number."


async def test_stream_hold_back_is_bounded(engine: DetectionEngine) -> None:
    scanner = StreamScanner(detector=engine, policy=Policy(), codec=_codec(), window=16, max_hold=64)
    released = ""
    for _ in range(40):
        released += await scanner.feed("1234 5678 ")  # one endless digit run: always "in a finding"
        assert scanner.pending <= 64 + 10
    assert "1234" not in released + await scanner.finish()
