"""Content parts on every API shape: the policy's ``non_text_parts`` decides what cannot be scanned,
and a malformed part is a clear 4xx, never a crash (one rule, ``shapes.scannable_parts``)."""

from __future__ import annotations

from typing import Any

import pytest

from masker.errors import BadRequest, Unprocessable
from masker.shapes.chat import ChatCompletions
from masker.shapes.messages import Messages
from masker.shapes.responses import Responses

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.test/x.png"}}
ODD = {"type": ["input_text"], "text": "an unhashable type"}


def _bodies(part: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    text = {"type": "text", "text": "hello"}
    item = {"role": "user", "content": [{"type": "input_text", "text": "hi"}, part]}
    return [
        (ChatCompletions(), {"model": "m", "messages": [{"role": "user", "content": [text, part]}]}),
        (Responses(), {"model": "m", "input": [item]}),
        (Messages(), {"model": "m", "max_tokens": 8,
                      "messages": [{"role": "user", "content": [text, part]}]}),
    ]


def _content(body: dict[str, Any]) -> list[Any]:
    items = body["messages"] if "messages" in body else body["input"]
    content: list[Any] = items[0]["content"]
    return content


@pytest.mark.parametrize("index", range(3))
def test_non_text_parts_follow_the_policy(index: int) -> None:
    shape, body = _bodies(IMAGE)[index]
    shape.request(body, non_text_parts="drop", max_messages=100)
    assert IMAGE not in _content(body)
    shape, body = _bodies(IMAGE)[index]
    shape.request(body, non_text_parts="forward", max_messages=100)
    assert IMAGE in _content(body)
    shape, body = _bodies(IMAGE)[index]
    with pytest.raises(Unprocessable):
        shape.request(body, non_text_parts="reject", max_messages=100)


@pytest.mark.parametrize("index", range(3))
def test_an_unhashable_part_type_is_a_non_text_part_not_a_crash(index: int) -> None:
    shape, body = _bodies(ODD)[index]
    with pytest.raises(Unprocessable):
        shape.request(body, non_text_parts="reject", max_messages=100)
    shape, body = _bodies(ODD)[index]
    shape.request(body, non_text_parts="drop", max_messages=100)
    assert ODD not in _content(body)


@pytest.mark.parametrize("index", range(3))
def test_a_part_that_is_not_an_object_is_a_bad_request(index: int) -> None:
    shape, body = _bodies(IMAGE)[index]
    _content(body).append("plain string")
    with pytest.raises(BadRequest):
        shape.request(body, non_text_parts="drop", max_messages=100)
