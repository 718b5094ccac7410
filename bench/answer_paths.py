"""Micro-bench of the request and answer paths the API shapes share: CPU time per call of

* ``chat-stream``: rehydrating a streamed chat answer (a voice reply, 3 characters per event, two
  tokens split across events) — the hot path every voice turn takes;
* ``responses-stream``: the same answer as a Responses event stream;
* ``responses-turn``: redacting the 8th turn of a Responses call (instructions, resent history),
  with the route's history memo (``--memo``) or without it.

Run it against two trees in one session (``PYTHONPATH=<tree>/proxy:<tree>``), alternating, to get
a same-run before/after ratio; the pattern layer only (no NER), as on a warm proxy.

    python bench/answer_paths.py --rounds 5 [--memo]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

from masker.detect.engine import DetectionEngine
from masker.policy import load_policies
from masker.redaction import redact_request
from masker.redaction_memo import PrefixMemo
from masker.shapes.responses import RESPONSES
from masker.tokens.codec import Codec, TokenSession
from masker.tokens.rehydrate import AnswerTokens
from tests.tokens.conftest import make_ring

try:  # the Responses stream rehydration (absent from trees before it existed)
    from masker.answers import EventStreamRehydration
except ImportError:  # pragma: no cover
    EventStreamRehydration = None  # type: ignore[assignment,misc]
from masker.streaming import StreamRehydration


def _policy() -> Any:
    from pathlib import Path

    return load_policies(Path(__file__).resolve().parents[1] / "policies")["default"]


def _session() -> tuple[TokenSession, list[str]]:
    from masker.detect.types import Entity

    session = Codec("bench-agent", make_ring("K1")).session("call-bench")
    return session, [
        session.tokenize(Entity.PERSON, "Derek Olsen"),
        session.tokenize(Entity.PHONE, "(415) 555-0123"),
    ]


def _answer(tokens: list[str]) -> str:
    return (
        f"Thanks {tokens[0]}, I have moved your appointment to Tuesday at nine in the morning. "
        f"We will text a reminder to {tokens[1]} the day before. Is there anything else I can help with?"
    )


def _chat_lines(text: str) -> list[bytes]:
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    events = [
        {**base, "choices": [{"index": 0, "delta": {"content": text[i : i + 3]}, "finish_reason": None}]}
        for i in range(0, len(text), 3)
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return [b"data: " + json.dumps(e).encode() for e in events] + [b"data: [DONE]"]


def _responses_lines(text: str) -> list[bytes]:
    where = {"item_id": "m", "output_index": 0, "content_index": 0}
    events = [
        {"type": "response.output_text.delta", **where, "delta": text[i : i + 3]}
        for i in range(0, len(text), 3)
    ]
    events.append({"type": "response.output_text.done", **where, "text": text})
    events.append({"type": "response.completed", "response": {"id": "r", "output": []}})
    out: list[bytes] = []
    for n, e in enumerate(events):
        e["sequence_number"] = n
        out += [f"event: {e['type']}".encode(), b"data: " + json.dumps(e).encode(), b""]
    return out


async def _lines(lines: list[bytes]) -> AsyncIterator[bytes]:
    for line in lines:
        yield line


async def _chat_stream(session: TokenSession, lines: list[bytes]) -> None:
    tokens = AnswerTokens(session)
    async for _ in StreamRehydration(tokens).run(_lines(lines)):
        pass


async def _responses_stream(session: TokenSession, lines: list[bytes]) -> None:
    tokens = AnswerTokens(session)
    rehydration = EventStreamRehydration(RESPONSES, tokens, error_event=lambda exc: {})
    async for _ in rehydration.run(_lines(lines)):
        pass


def _call(turns: int) -> list[dict[str, Any]]:
    """The Responses bodies of a call's turns (each resends the history)."""
    items: list[dict[str, Any]] = []
    bodies = []
    for n in range(turns):
        items.append(
            {
                "type": "message",
                "role": "user",
                "content": f"turn {n}: I'm Derek Olsen, call 415 555 01{n:02d}",
            }
        )
        bodies.append(
            {
                "model": "m",
                "instructions": "You are the front desk of Lakeside Clinic. " * 20
                + "The patient is Derek Olsen, DOB 1961-04-12.",
                "input": copy.deepcopy(items),
            }
        )
        items.append(
            {"type": "message", "role": "assistant", "content": f"Thanks, noted for turn {n}. Anything else?"}
        )
    return bodies


async def _turns(detector: Any, policy: Any, bodies: list[dict[str, Any]], memo: PrefixMemo | None) -> float:
    """Seconds of the last turn's redaction, the earlier turns having warmed the memo."""
    codec = Codec("bench-agent", make_ring("K1"))
    elapsed = 0.0
    for body in bodies:
        session = codec.session("call-turns")
        work = copy.deepcopy(body)
        started = time.perf_counter()
        outcome = await redact_request(
            work,
            detector=detector,
            policy=policy,
            session=session,
            fail_mode="closed",
            memo=memo,
            shape=RESPONSES,
        )
        if outcome.settle is not None:
            outcome.settle()
        elapsed = time.perf_counter() - started
    return elapsed


async def main_async(ns: argparse.Namespace) -> None:
    session, tokens = _session()
    text = _answer(tokens)
    chat, responses = _chat_lines(text), _responses_lines(text)
    policy = _policy()
    detector = DetectionEngine(ner=None)
    bodies = _call(8)
    results: dict[str, list[float]] = {"chat-stream": [], "responses-stream": [], "responses-turn": []}
    for _ in range(ns.rounds):
        started = time.process_time()
        for _ in range(ns.iterations):
            await _chat_stream(session, chat)
        results["chat-stream"].append((time.process_time() - started) / ns.iterations * 1e6)
        if EventStreamRehydration is not None:
            started = time.process_time()
            for _ in range(ns.iterations):
                await _responses_stream(session, responses)
            results["responses-stream"].append((time.process_time() - started) / ns.iterations * 1e6)
        last = [await _turns(detector, policy, bodies, PrefixMemo() if ns.memo else None) for _ in range(20)]
        results["responses-turn"].append(statistics.median(last) * 1e6)
    for name, values in results.items():
        if values:
            rounds = ", ".join(f"{v:.0f}" for v in values)
            print(f"{name:18s} median {statistics.median(values):9.1f} us  (rounds: {rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--memo", action="store_true", help="redact Responses turns with the history memo")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
