"""The Responses and Messages walkers: which request positions are text (and get written back),
which are the closed not-text list, and how their stream events grow and end texts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from masker.errors import BadRequest
from masker.shapes import Kind
from masker.shapes.messages import MESSAGES
from masker.shapes.responses import RESPONSES


def _responses(body: dict[str, Any]) -> list[tuple[str, Kind, str]]:
    walked = RESPONSES.request({"model": "gpt-4o", **body}, non_text_parts="forward", max_messages=10)
    return [(s.text, s.kind, s.role) for s in walked.slots]


def _messages(body: dict[str, Any]) -> list[tuple[str, Kind, str]]:
    base = {"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    walked = MESSAGES.request({**base, **body}, non_text_parts="forward", max_messages=10)
    return [(s.text, s.kind, s.role) for s in walked.slots]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"input": "I am Jane Roe"}, ("I am Jane Roe", Kind.VALUE, "user")),
        ({"instructions": "Patient Jane Roe"}, ("Patient Jane Roe", Kind.VALUE, "system")),
        (
            {"input": [{"role": "user", "content": [{"type": "input_text", "text": "Jane"}]}]},
            ("Jane", Kind.VALUE, "user"),
        ),
        (
            {
                "input": [
                    {"type": "function_call", "call_id": "c", "name": "f", "arguments": '{"who": "Jane"}'}
                ]
            },
            ("Jane", Kind.VALUE, "assistant"),
        ),
        (
            {
                "input": [
                    {"type": "function_call", "call_id": "c", "name": "f", "arguments": '{"dob": 19610412}'}
                ]
            },
            ("19610412", Kind.NUMBER, "assistant"),
        ),
        (
            {"input": [{"type": "function_call_output", "call_id": "c", "output": "Jane"}]},
            ("Jane", Kind.VALUE, "tool"),
        ),
        (
            {"tools": [{"type": "function", "name": "f", "description": "for Jane"}]},
            ("for Jane", Kind.VALUE, "field"),
        ),
        ({"metadata": {"Jane Roe": "x"}}, ("Jane Roe", Kind.KEY, "field")),
        (
            {"text": {"format": {"type": "json_schema", "name": "o", "schema": {"description": "Jane"}}}},
            ("Jane", Kind.VALUE, "field"),
        ),
        ({"input": "x", "status": "Jane"}, ("Jane", Kind.VALUE, "field")),  # an enum key, unknown value
    ],
)
def test_responses_text_positions(body: dict[str, Any], expected: tuple[str, Kind, str]) -> None:
    assert expected in _responses(body)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"input": [{"type": "message", "role": "user", "content": "x"}]}, "message"),
        ({"input": "x", "truncation": "auto"}, "auto"),
        ({"input": "x", "include": ["reasoning.encrypted_content"]}, "reasoning.encrypted_content"),
        ({"input": "x", "reasoning": {"effort": "low"}}, "low"),
        ({"input": "x", "store": False}, "False"),
    ],
)
def test_responses_closed_list(body: dict[str, Any], text: str) -> None:
    assert text not in [t for t, _, _ in _responses(body)]


def test_responses_verbatim_and_write_back() -> None:
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "previous_response_id": "resp_1",
        "instructions": "I",
        "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": '{"a": "Jane"}'}],
    }
    walked = RESPONSES.request(body, non_text_parts="forward", max_messages=10)
    verbatim = {s.text for s in walked.slots if s.verbatim}
    assert verbatim == {"gpt-4o", "resp_1"}
    walked.apply([(s, "TOKEN") for s in walked.slots if s.text in ("Jane", "I")])
    assert body["instructions"] == "TOKEN"
    assert json.loads(body["input"][0]["arguments"]) == {"a": "TOKEN"}


def test_responses_bad_input_refused() -> None:
    with pytest.raises(BadRequest):
        RESPONSES.request({"model": "m", "input": 5}, non_text_parts="forward", max_messages=10)
    with pytest.raises(BadRequest):
        RESPONSES.request({"input": "x"}, non_text_parts="forward", max_messages=10)


def test_responses_stream_keys_and_ends() -> None:
    delta = {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "MSK"}
    [grows] = [s for s in RESPONSES.event(delta).slots if s.stream is not None]
    assert grows.text == "MSK"
    done = {"type": "response.output_text.done", "output_index": 0, "content_index": 0, "text": "full"}
    ends = RESPONSES.ended(done)
    assert ends is not None and ends(grows.stream) and not ends(("response.output_text", 1, 0))
    assert RESPONSES.ended(delta) is None
    args = {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '{"a'}
    [arg_slot] = [s for s in RESPONSES.event(args).slots if s.stream is not None]
    assert arg_slot.json
    carrier = RESPONSES.tail_event(done, [grows.stream])
    RESPONSES.put_tail(carrier, grows.stream, "tail")
    assert carrier["type"] == "response.output_text.delta" and carrier["delta"] == "tail"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"system": "Patient Jane Roe"}, ("Patient Jane Roe", Kind.VALUE, "system")),
        ({"system": [{"type": "text", "text": "Jane"}]}, ("Jane", Kind.VALUE, "system")),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {"who": "Jane"}}],
                    }
                ]
            },
            ("Jane", Kind.VALUE, "assistant"),
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "t", "content": "Jane"}],
                    }
                ]
            },
            ("Jane", Kind.VALUE, "user"),
        ),
        ({"stop_sequences": ["Jane"]}, ("Jane", Kind.VALUE, "field")),
        ({"metadata": {"user_id": "Jane"}}, ("Jane", Kind.VALUE, "field")),
        (
            {"tools": [{"name": "f", "description": "for Jane", "input_schema": {"type": "object"}}]},
            ("for Jane", Kind.VALUE, "field"),
        ),
    ],
)
def test_messages_text_positions(body: dict[str, Any], expected: tuple[str, Kind, str]) -> None:
    assert expected in _messages(body)


def test_messages_system_written_back_and_images_refused_when_the_policy_says() -> None:
    body: dict[str, Any] = {
        "model": "c",
        "max_tokens": 5,
        "system": "S",
        "messages": [{"role": "user", "content": "hi"}],
    }
    walked = MESSAGES.request(body, non_text_parts="forward", max_messages=10)
    walked.apply([(s, "TOKEN") for s in walked.slots if s.text == "S"])
    assert body["system"] == "TOKEN"
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    with pytest.raises(Exception, match="cannot be scanned"):
        MESSAGES.request(
            {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": [image]}]},
            non_text_parts="reject",
            max_messages=10,
        )


def test_messages_stream_keys_and_ends() -> None:
    delta = {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"n'},
    }
    [grows] = [s for s in MESSAGES.event(delta).slots if s.stream is not None]
    assert grows.json and grows.stream == (1, "partial_json")
    ends = MESSAGES.ended({"type": "content_block_stop", "index": 1})
    assert ends is not None and ends(grows.stream) and not ends((0, "text"))
    carrier = MESSAGES.tail_event({}, [grows.stream])
    MESSAGES.put_tail(carrier, grows.stream, 'ote"}')
    assert carrier == {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": 'ote"}'},
    }


@pytest.mark.parametrize(
    ("block", "text"),
    [
        (
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Jane Roe"}},
            True,
        ),
        (
            {
                "type": "document",
                "source": {"type": "content", "content": [{"type": "text", "text": "Jane"}]},
            },
            True,
        ),
        ({"type": "document", "source": {"type": "content", "content": "Jane"}}, True),
        (
            {
                "type": "search_result",
                "source": "s",
                "title": "t",
                "content": [{"type": "text", "text": "Jane"}],
            },
            True,
        ),
        (
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
            },
            False,
        ),
        ({"type": "document", "source": {"type": "url", "url": "https://example.invalid/a.pdf"}}, False),
        ({"type": "document", "source": {"type": "content", "content": [{"type": "image"}]}}, False),
        ({"type": "search_result", "source": "s", "content": [{"type": "image"}]}, False),
        ({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}, False),
    ],
)
def test_messages_text_documents_are_text_attachments_are_not(block: dict[str, Any], text: bool) -> None:
    """Under a policy that refuses what it cannot scan, a block whose payload is plain text is
    kept (and its text walked); a PDF, an image or a URL is refused."""
    body = {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": [block]}]}
    if not text:
        with pytest.raises(Exception, match="cannot be scanned"):
            MESSAGES.request(body, non_text_parts="reject", max_messages=10)
        return
    walked = MESSAGES.request(body, non_text_parts="reject", max_messages=10)
    assert any("Jane" in s.text for s in walked.slots)


def test_instructions_and_system_lead_the_conversation() -> None:
    """The memo signs the conversation's leading texts: a system prompt held outside the messages
    comes first, so a call's unchanging prompt is in every turn's remembered prefix."""
    walked = RESPONSES.request(
        {
            "model": "m",
            "instructions": "I",
            "input": [{"role": "user", "content": "U"}],
            "metadata": {"k": "M"},
        },
        non_text_parts="forward",
        max_messages=10,
    )
    texts = [s.text for s in walked.slots]
    assert (
        texts[: walked.conversation] == ["I", "U"]
        and walked.newest == 1
        and "M" in texts[walked.conversation :]
    )
    walked = MESSAGES.request(
        {
            "model": "m",
            "max_tokens": 5,
            "system": [{"type": "text", "text": "S"}],
            "messages": [{"role": "user", "content": "U"}],
        },
        non_text_parts="forward",
        max_messages=10,
    )
    texts = [s.text for s in walked.slots]
    assert texts[: walked.conversation] == ["S", "U"] and walked.newest == 1
