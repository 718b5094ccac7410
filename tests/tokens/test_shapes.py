"""The chat-completions walker: which positions of a request are text, and the closed list that is
not (each checked by value)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from masker.shapes import Kind
from masker.shapes.chat import CHAT


def _texts(extra: dict[str, Any], message: dict[str, Any] | None = None) -> list[tuple[str, Kind]]:
    body = {"model": "gpt-4o-mini", "messages": [message or {"role": "user", "content": "hi"}], **extra}
    walked = CHAT.request(body, non_text_parts="forward", max_messages=10)
    return [(s.text, s.kind) for s in walked.slots]


@pytest.mark.parametrize(
    ("extra", "text", "kind"),
    [
        ({"stop": ["Jane Doe"]}, "Jane Doe", Kind.VALUE),
        ({"metadata": {"Jane Doe": "x"}}, "Jane Doe", Kind.KEY),
        ({"metadata": {"dob": 19610412}}, "19610412", Kind.NUMBER),
        ({"metadata": {"score": 0.25}}, "0.25", Kind.NUMBER),
        ({"logit_bias": {"2125550142": 5}}, "2125550142", Kind.KEY),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"description": "for Jane"}}},
            "for Jane",
            Kind.VALUE,
        ),
        ({"customer": {"type": "Jane Doe"}}, "Jane Doe", Kind.VALUE),
        (
            {"customer": {"id": "Jane Doe", "format": "Jane", "pattern": "^Jane$", "$ref": "#/Jane"}},
            "^Jane$",
            Kind.VALUE,
        ),
        ({"customer": {"format": "Jane"}}, "Jane", Kind.VALUE),
        ({"customer": {"$ref": "#/Jane"}}, "#/Jane", Kind.VALUE),
        ({"modalities": ["text", "Jane"]}, "Jane", Kind.VALUE),
    ],
)
def test_every_position_is_text(extra: dict[str, Any], text: str, kind: Kind) -> None:
    assert (text, kind) in _texts(extra)


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        ({"modalities": ["text", "audio"]}, "audio"),
        ({"response_format": {"type": "json_object"}}, "json_object"),
        ({"logit_bias": {"50256": -100}}, "50256"),
        ({"stream": True}, "True"),
        ({"metadata": {"description": "x"}}, "description"),
        ({"reasoning_effort": "low"}, "low"),
    ],
)
def test_the_closed_list_is_not_text(extra: dict[str, Any], text: str) -> None:
    assert text not in [t for t, _ in _texts(extra)]


def test_a_role_outside_the_known_roles_is_text() -> None:
    texts = _texts({}, {"role": "user", "content": "hi", "name": "Jane"})
    assert ("user", Kind.VALUE) not in texts
    assert ("Jane", Kind.VALUE) in texts
    body = {"model": "m", "messages": [{"role": "Jane Doe", "content": "hi"}]}
    assert "Jane Doe" in [s.text for s in CHAT.request(body, non_text_parts="forward", max_messages=10).slots]


def test_tool_arguments_are_walked_with_keys_and_numbers_and_rewritten() -> None:
    arguments = json.dumps({"Jane Doe": {"dob": 19610412, "note": "call"}})
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    body = {"model": "m", "messages": [{"role": "assistant", "content": None, "tool_calls": [call]}]}
    walked = CHAT.request(body, non_text_parts="forward", max_messages=10)
    by_text = {s.text: s for s in walked.slots}
    assert by_text["Jane Doe"].kind is Kind.KEY and by_text["19610412"].kind is Kind.NUMBER
    walked.apply(
        [(by_text["Jane Doe"], "<PERSON>"), (by_text["19610412"], "<DATE>"), (by_text["call"], "ring")]
    )
    assert json.loads(call["function"]["arguments"]) == {"<PERSON>": {"dob": "<DATE>", "note": "ring"}}


def test_a_renamed_key_keeps_its_place() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"a": 1, "Jane": 2, "z": 3},
    }
    walked = CHAT.request(body, non_text_parts="forward", max_messages=10)
    [jane] = [s for s in walked.slots if s.text == "Jane"]
    walked.apply([(jane, "<PERSON>")])
    assert list(body["metadata"]) == ["a", "<PERSON>", "z"]


def test_the_model_is_text_that_cannot_be_rewritten() -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    [model] = [
        s for s in CHAT.request(body, non_text_parts="forward", max_messages=10).slots if s.key == "model"
    ]
    assert model.verbatim
