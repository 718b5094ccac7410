"""Property tests (hypothesis).

1. For any text — unicode, JSON-special characters, values glued to other text — masked, echoed
   by the upstream and cut into any chunks, streamed rehydration gives back exactly the original,
   in both tokenization modes, plain and JSON-escaped (tool-call arguments).
2. For any policy (a random action per entity), no detected value of a category that is not
   ``keep`` appears anywhere in what the upstream receives. The detector here is a fake at the
   detector seam that reports given values wherever they occur; the real engine is tested in
   tests/detect.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from masker.detect.types import Entity
from masker.policy import Action, Policy
from masker.redaction import redact_request
from masker.tokens.codec import AEAD, VAULT, Codec
from masker.tokens.grammar import could_contain_token
from masker.tokens.keys import Key, KeyRing
from masker.tokens.rehydrate import StreamRehydrator, json_escape

from .planted import PlantedDetector

RING = KeyRing((Key("PROP", os.urandom(32)),))
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_chars = st.characters(codec="utf-8")
free_text = st.text(_chars, max_size=20).filter(lambda t: not could_contain_token(t))
value_text = st.text(_chars, min_size=1, max_size=30)
segment = st.one_of(
    free_text.map(lambda t: ("text", t)),
    st.tuples(st.just("value"), st.sampled_from(list(Entity)), value_text, st.booleans()),
)


def _cut(text: str, points: Sequence[int]) -> list[str]:
    cuts = sorted({p % (len(text) + 1) for p in points} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(cuts)]


async def _stream(rh: StreamRehydrator, chunks: Sequence[str]) -> str:
    out = [await rh.feed(chunk) for chunk in chunks]
    return "".join(out) + await rh.finish()


@SETTINGS
@given(
    mode=st.sampled_from([VAULT, AEAD]),
    segments=st.lists(segment, max_size=8),
    points=st.lists(st.integers(min_value=0, max_value=10_000), max_size=40),
    one_char=st.booleans(),
)
async def test_streamed_rehydration_restores_the_original(
    mode: str, segments: list[Any], points: list[int], one_char: bool
) -> None:
    session = Codec("agent-prop", RING, mode=mode).session("conv")
    original, masked = [], []
    for seg in segments:
        if seg[0] == "text":
            original.append(seg[1])
            masked.append(seg[1])
        else:
            _, entity, value, identifier = seg
            original.append(value)
            masked.append(session.tokenize(entity, value, identifier=identifier))
    text, echo = "".join(original), "".join(masked)

    chunks = list(echo) if one_char else _cut(echo, points)
    plain = StreamRehydrator(session)
    assert await _stream(plain, chunks) == text
    assert plain.unresolved == 0

    escaped_echo = json_escape(echo)  # tokens are JSON-safe: escaping leaves them intact
    chunks = list(escaped_echo) if one_char else _cut(escaped_echo, points)
    escaped = StreamRehydrator(session, escape=json_escape)
    assert json.loads('"' + await _stream(escaped, chunks) + '"') == text


def _strings(node: Any) -> list[str]:
    """Every string the upstream would see, tool-call arguments decoded."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    if isinstance(node, str):
        try:
            parsed = json.loads(node)
        except ValueError:
            return [node]
        return [node, *_strings(parsed)] if isinstance(parsed, dict | list) else [node]
    return []


# Values that cannot contain each other: a unique marker, then digits and JSON-special characters.
_tail = st.text(st.sampled_from('0123456789"\\/\n\t{}é'), min_size=1, max_size=8)


@SETTINGS
@given(
    entities=st.lists(st.sampled_from(list(Entity)), min_size=1, max_size=6, unique=True),
    actions=st.lists(st.sampled_from(list(Action)), min_size=6, max_size=6),
    tails=st.lists(_tail, min_size=6, max_size=6),
    default=st.sampled_from(list(Action)),
    filler=st.text(st.characters(codec="utf-8", exclude_characters="PHI"), max_size=15),
)
async def test_no_redacted_value_reaches_the_upstream(
    entities: list[Entity], actions: list[Action], tails: list[str], default: Action, filler: str
) -> None:
    values = {f"PHI{i}{chr(65 + i)}{tails[i]}": entity for i, entity in enumerate(entities)}
    policy = Policy(actions=dict(zip(entities, actions, strict=False)), default_action=default)
    joined = filler.join(values)
    args = json.dumps({"note": joined, "nested": [{"v": v} for v in values]})
    body: dict[str, Any] = {
        "model": "gpt-x",
        "messages": [
            {"role": "system", "content": f"Caller: {joined}"},
            {"role": "user", "content": [{"type": "text", "text": filler + joined + filler}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": args}}
                ],
            },
        ],
        "call": {"customer": {"number": joined}},
    }
    session = Codec("agent-prop", RING).session("conv")
    outcome = await redact_request(
        body, detector=PlantedDetector(values), policy=policy, session=session, fail_mode="closed"
    )
    seen = _strings(outcome.body)
    for value, entity in values.items():
        present = any(value in s for s in seen)
        if policy.action_for(entity) is Action.KEEP:
            assert present  # the property can fail: kept values do go through
        else:
            assert not present, (entity, policy.action_for(entity))
