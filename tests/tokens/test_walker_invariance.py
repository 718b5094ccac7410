"""Structural invariance (hypothesis), with the real detection engine (pattern entities only).

1. A value the detector finds in a plain user message, placed at any generated position of a valid
   chat request — any depth, as a string, as a dictionary key, as a JSON number where it is
   numeric, inside tool-call arguments, under known or unknown field names (``stop``,
   ``logit_bias``, ``response_format``, ``type``, ``id``, ``format``, ``pattern``, ``$ref``...) —
   never reaches the upstream: redaction replaces it, or refuses the request (``model``).
2. Whatever the upstream answers — this request's tokens, tokens of another conversation or of
   the same agent without a conversation id, in any case and spacing, at any position of a
   completion or split across stream events — no token reaches the caller, no value of another
   request does, and this request's own canonical tokens come back as the caller's values.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from masker import jsonfast
from masker.detect.engine import DetectionEngine
from masker.detect.types import Entity
from masker.errors import BadRequest, Unprocessable
from masker.pipeline import rehydrate_completion
from masker.policy import load_policies
from masker.redaction import redact_request
from masker.streaming import StreamRehydration
from masker.tokens.codec import AEAD, VAULT, Codec
from masker.tokens.grammar import _HINT as TOKEN_HINT
from masker.tokens.grammar import could_contain_token, could_hold_token, find_tokens
from masker.tokens.rehydrate import AnswerTokens

from .conftest import make_ring

POLICY = load_policies(Path(__file__).resolve().parents[2] / "policies")["default"]
ENGINE = DetectionEngine(ner=None)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODECS = {mode: Codec("agent-inv", make_ring("INV"), mode=mode) for mode in (VAULT, AEAD)}

# Field names an attacker or a platform could use: the protocol's own (some of which the old walk
# skipped at any depth) and free ones.
NAMES = [
    "stop", "logit_bias", "response_format", "modalities", "id", "type", "format", "detail",
    "pattern", "$ref", "$schema", "role", "name", "description", "metadata", "required", "enum",
    "tool_call_id", "voice", "object", "finish_reason", "content", "text", "dob", "customer",
    "phoneNumber", "x",
]  # fmt: skip
OTHER_VALUES = ["(646) 555-0187", "other.person@example.org"]


@st.composite
def values(draw: st.DrawFn) -> tuple[str, int | None]:
    """(text form, numeric form or None) of a synthetic identifier."""
    kind = draw(st.sampled_from(["phone", "email", "ssn"]))
    if kind == "phone":
        area = draw(st.integers(201, 989))
        line = draw(st.integers(100, 9999))
        return f"({area}) 555-{line:04d}", int(f"{area}555{line:04d}")
    if kind == "ssn":
        area = draw(st.integers(100, 665))
        group = draw(st.integers(10, 99))
        serial = draw(st.integers(1000, 9999))
        return f"{area:03d}-{group:02d}-{serial:04d}", int(f"{area:03d}{group:02d}{serial:04d}")
    user = draw(st.text("abcdefghijklnopqrstuvwxyz", min_size=3, max_size=10))
    return f"{user}@example.com", None


def _plant(leaf: Any, path: list[tuple[str, str]]) -> Any:
    """Wrap ``leaf`` in containers along ``path``: ("d", name) a dict under name, ("l", _) a list,
    ("k", _) the leaf becomes a key (of a dict whose value is a plain number)."""
    node = leaf
    for kind, name in reversed(path):
        if kind == "d":
            node = {name: node}
        elif kind == "l":
            node = ["plain", node]
        elif isinstance(node, str):
            node = {node: 1}
    return node


placements = st.tuples(
    st.sampled_from(["top", "message", "arguments", "tool_schema", "content_part", "model"]),
    st.lists(st.tuples(st.sampled_from(["d", "l", "k"]), st.sampled_from(NAMES)), max_size=4),
    st.sampled_from(["string", "number", "key"]),
    st.sampled_from(NAMES),
)


def _body(value: str, number: int | None, placement: tuple[Any, ...]) -> dict[str, Any]:
    where, path, form, name = placement
    leaf: Any = number if form == "number" and number is not None else value
    if form == "key" and isinstance(leaf, str):
        path = [*path, ("k", name)]
    tree = _plant(leaf, path)
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    if where == "top":
        body[name if name not in ("messages", "model") else "extra"] = tree
    elif where == "message":
        body["messages"][0][name if name not in ("role", "content") else "extra"] = tree
    elif where == "arguments":
        call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": json.dumps(tree)}}
        body["messages"].insert(0, {"role": "assistant", "content": None, "tool_calls": [call]})
    elif where == "tool_schema":
        params = {"type": "object", "properties": {name: {"type": "string", "description": tree}}}
        if form == "key":
            params = {"type": "object", "properties": tree if isinstance(tree, dict) else {"a": tree}}
        body["tools"] = [{"type": "function", "function": {"name": "f", "parameters": params}}]
    elif where == "content_part":
        body["messages"][0]["content"] = [{"type": "text", "text": "hi", name: tree}]
    else:
        body["model"] = value
    return body


async def _detected(value: str) -> bool:
    prefix = "My details: "
    result = await ENGINE.detect([prefix + value], POLICY.detect_options(), roles=["user"])
    return any(f.start <= len(prefix) and f.end >= len(prefix) + len(value) for f in result.findings[0])


@pytest.mark.parametrize("mode", [VAULT, AEAD])
@SETTINGS
@given(value=values(), placement=placements)
async def test_no_planted_value_reaches_the_upstream(
    mode: str, value: tuple[str, int | None], placement: tuple[Any, ...]
) -> None:
    text, number = value
    assume(await _detected(text))
    body = _body(text, number, placement)
    session = CODECS[mode].session("conv-1")
    try:
        outcome = await redact_request(
            copy.deepcopy(body), detector=ENGINE, policy=POLICY, session=session, fail_mode="closed"
        )
    except BadRequest as exc:
        assert placement[0] == "model" and exc.param == "model"
        return
    except Unprocessable as exc:  # the value took a content part's ``type``: not a text part
        assert exc.code == "unsupported_content"
        return
    sent = jsonfast.dumps(outcome.body).decode()
    assert text not in sent
    if number is not None:
        assert str(number) not in sent
    assert "MSKV1" in sent
    assert outcome.body["model"] == "gpt-4o-mini"


# -- the answer side ---------------------------------------------------------------------------

_filler = st.text("abcdefghijklnopqrstuvwxyz ,.!?\n", max_size=12)


def _variants(token: str) -> list[str]:
    """Ways a model (or a caller) might write a token: canonical, lower case, spaced prefixes."""
    tail = token[len("MSKV1") :]
    return [token, token.lower(), "MSK V1" + tail, "M S K V 1" + tail, "mskv1" + tail.replace(".", " ")]


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [k, *_strings(v)]]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


async def _setting(mode: str, own: str) -> tuple[AnswerTokens, str, list[str]]:
    """This request's session with ``own`` tokenized; its canonical token; and foreign tokens."""
    codec = CODECS[mode]
    session = codec.session(None)
    body = {"model": "m", "messages": [{"role": "user", "content": f"Call me at {own} please"}]}
    outcome = await redact_request(body, detector=ENGINE, policy=POLICY, session=session, fail_mode="closed")
    [mine] = [t for t in find_tokens(outcome.body["messages"][0]["content"])]
    token = outcome.body["messages"][0]["content"][mine.start : mine.end]
    foreign = []
    for conversation in (None, "victim"):  # same agent, no conversation id; another conversation
        other = codec.session(conversation)
        foreign += [
            other.tokenize(Entity.PHONE, OTHER_VALUES[0]),
            other.tokenize(Entity.EMAIL, OTHER_VALUES[1]),
        ]
    return AnswerTokens(session), token, foreign


pieces = st.lists(
    st.one_of(
        _filler.map(lambda t: ("text", t, 0)),
        st.tuples(st.just("mine"), st.just(""), st.integers(0, 4)),
        st.tuples(st.just("foreign"), st.integers(0, 3).map(str), st.integers(0, 4)),
    ),
    max_size=6,
)


def _render(items: Sequence[tuple[str, str, int]], token: str, foreign: list[str]) -> tuple[str, bool]:
    """The text, and whether it holds this request's token in canonical form."""
    out, canonical = [], False
    for kind, extra, variant in items:
        if kind == "text":
            out.append(extra)
        elif kind == "mine":
            out.append(" " + _variants(token)[variant] + " ")
            canonical = canonical or variant == 0
        else:
            out.append(" " + _variants(foreign[int(extra)])[variant] + " ")
    return "".join(out), canonical


answer_slots = st.sampled_from(
    [
        "content",
        "refusal",
        "reasoning_content",
        "audio",
        "parts",
        "reasoning_details",
        "logprobs",
        "key",
        "extra",
    ]
)


def _completion(text: str, where: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None}
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": "stop"}
    if where == "content":
        message["content"] = text
    elif where == "refusal":
        message["refusal"] = text
    elif where == "reasoning_content":
        message["reasoning_content"] = text
    elif where == "audio":
        message["audio"] = {"id": "audio_1", "data": "", "transcript": text, "expires_at": 1}
    elif where == "parts":
        message["content"] = [{"type": "output_text", "text": text}]
    elif where == "reasoning_details":
        message["reasoning_details"] = [{"type": "reasoning.text", "text": text, "index": 0}]
    elif where == "logprobs":
        message["content"] = "ok"
        choice["logprobs"] = {"content": [{"token": text, "logprob": -0.1, "top_logprobs": []}]}
    elif where == "key":
        message["content"] = "ok"
        message["extra"] = {text: "v"}
    else:
        message["content"] = "ok"
        message["vendor"] = {"note": [text]}
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "m", "choices": [choice]}


def _check_answer(strings: list[str], own: str, canonical: bool) -> None:
    joined = "\n".join(strings)
    assert not could_contain_token(joined), "a token reached the caller"
    for other in OTHER_VALUES:
        assert other not in joined, "another request's value was resolved"
    if canonical:
        assert own in joined


@pytest.mark.parametrize("mode", [VAULT, AEAD])
@SETTINGS
@given(own=values(), items=pieces, where=answer_slots)
async def test_whole_answer_gives_no_token_to_the_caller(
    mode: str, own: tuple[str, int | None], items: list[tuple[str, str, int]], where: str
) -> None:
    assume(await _detected(own[0]))
    tokens, token, foreign = await _setting(mode, own[0])
    text, canonical = _render(items, token, foreign)
    data = _completion(text, where)
    await rehydrate_completion(data, tokens, None)
    _check_answer(_strings(data), own[0], canonical)


async def _lines(events: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    for event in events:
        yield b"data: " + json.dumps(event).encode()
    yield b"data: [DONE]"


def _cut(text: str, points: Sequence[int]) -> list[str]:
    cuts = sorted({p % (len(text) + 1) for p in points} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(cuts)]


stream_slots = st.sampled_from(
    ["content", "refusal", "reasoning_content", "audio", "reasoning_details", "tool"]
)


def _delta(piece: str, where: str) -> dict[str, Any]:
    if where == "audio":
        return {"audio": {"transcript": piece}}
    if where == "reasoning_details":
        return {"reasoning_details": [{"type": "reasoning.text", "text": piece, "index": 0}]}
    if where == "tool":
        return {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
    return {where: piece}


@pytest.mark.parametrize("mode", [VAULT, AEAD])
@SETTINGS
@given(
    own=values(),
    items=pieces,
    where=stream_slots,
    points=st.lists(st.integers(min_value=0, max_value=1000), max_size=30),
)
async def test_streamed_answer_gives_no_token_to_the_caller(
    mode: str, own: tuple[str, int | None], items: list[tuple[str, str, int]], where: str, points: list[int]
) -> None:
    assume(await _detected(own[0]))
    tokens, token, foreign = await _setting(mode, own[0])
    text, canonical = _render(items, token, foreign)
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m"}
    events = [
        {**base, "choices": [{"index": 0, "delta": _delta(piece, where), "finish_reason": None}]}
        for piece in _cut(text, points)
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    out = [
        json.loads(raw[6:])
        async for raw in StreamRehydration(tokens).run(_lines(events))
        if raw.startswith(b"data: {")
    ]
    strings = [s for event in out for s in _strings(event)]
    _check_answer(strings, own[0], canonical)
    pieces_out = []
    for event in out:
        for choice in event["choices"]:
            delta = choice["delta"]
            if where == "audio":
                pieces_out.append(delta.get("audio", {}).get("transcript", ""))
            elif where == "reasoning_details":
                pieces_out += [d.get("text", "") for d in delta.get("reasoning_details", [])]
            elif where == "tool":
                pieces_out += [c["function"]["arguments"] for c in delta.get("tool_calls", [])]
            else:
                pieces_out.append(delta.get(where) or "")
    joined = "".join(pieces_out)
    assert not could_contain_token(joined)
    if canonical:
        assert own[0] in joined


@st.composite
def hinted(draw: st.DrawFn) -> str:
    """Text around the start of a token prefix, in any case, spacing and case-folding spelling."""
    parts = [draw(st.text("abcs kvé", max_size=4))]
    for spellings in (["m", "M"], ["s", "S", "\u017f"], ["k", "K", "\u212a"], ["v", "V"]):
        parts.append(draw(st.sampled_from(spellings)))
        parts.append(draw(st.sampled_from(["", " "])))
    parts[-1] = draw(st.text("1 .x", max_size=3))
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(text=hinted(), ascii_escapes=st.booleans())
def test_the_cheap_token_checks_never_miss_what_the_grammar_finds(text: str, ascii_escapes: bool) -> None:
    """The pre-checks that let texts and whole stream events skip rehydration say "maybe" wherever
    the one grammar could find a token's beginning, raw JSON escapes and case folding included."""
    assert TOKEN_HINT.search(text)
    assert could_contain_token(text)
    raw = json.dumps({"k": text}, ensure_ascii=ascii_escapes).encode()
    assert could_hold_token(raw)
