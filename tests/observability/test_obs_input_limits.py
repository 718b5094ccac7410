"""Input limits: each hostile shape maps to its own 4xx, messages never quote the request."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masker.errors import ConfigError
from masker.input_limits import (
    BAD_CONTENT_LENGTH,
    BODY_TOO_LARGE,
    INVALID_ENCODING,
    INVALID_JSON,
    JSON_TOO_DEEP,
    MESSAGES_NOT_A_LIST,
    NOT_AN_OBJECT,
    TOO_MANY_MESSAGES,
    UNSUPPORTED_MEDIA_TYPE,
    InputLimits,
    LimitViolation,
    _depth_and_strings_ok,
    _depth_ok,
    check_content_length,
    check_content_type,
    parse_body,
)
from masker.settings import LimitSettings, Settings

LIMITS = InputLimits(max_body_bytes=10_000, max_messages=5, max_json_depth=8)


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_valid_body_parses() -> None:
    raw = body({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert parse_body(raw, LIMITS) == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"x" * 10_001, BODY_TOO_LARGE),
        (b'{"messages": "\xff\xfe"}', INVALID_ENCODING),
        (b'{"messages": "\\ud800"}', INVALID_ENCODING),  # lone surrogate: valid JSON, not UTF-8-able
        (b'{"messages": [{"role": "user", "content": "hi \\uDC00"}]}', INVALID_ENCODING),  # low, upper case
        (b'{"a": {"\\udbff": 1}}', INVALID_ENCODING),  # in a key
        (b'{"a": [[["x", "\\ud83d"]]]}', INVALID_ENCODING),  # deep in lists
        (b'{"messages": [', INVALID_JSON),
        (b'{"a": NaN}', INVALID_JSON),
        (b"", INVALID_JSON),
        (b"[1, 2]", NOT_AN_OBJECT),
        (b'"text"', NOT_AN_OBJECT),
        (b'{"messages": {"role": "user"}}', MESSAGES_NOT_A_LIST),
        (body({"messages": [{}] * 6}), TOO_MANY_MESSAGES),
        (body({"a": [[[[[[[[1]]]]]]]]}), JSON_TOO_DEEP),
        (b"[" * 5000 + b"]" * 5000, JSON_TOO_DEEP),  # beyond Python's recursion limit
    ],
)
def test_violations(raw: bytes, expected: LimitViolation) -> None:
    limits = LIMITS if len(raw) <= 10_001 else InputLimits(max_json_depth=8)
    assert parse_body(raw, limits) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\\ud83d\\ude00"}',  # a surrogate *pair* is one character
        b'{"a": "\\\\ud800"}',  # an escaped backslash, then the letters "ud800"
        b'{"a": "\\u00e9 \\u2028"}',
    ],
)
def test_escapes_that_are_not_lone_surrogates_are_accepted(raw: bytes) -> None:
    assert isinstance(parse_body(raw, LIMITS), dict)


_json_values = st.recursive(
    st.none() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(_json_values)
def test_the_container_only_walk_judges_depth_like_the_full_one(value: object) -> None:
    # Without a surrogate escape in the body only containers are walked; depth must not change.
    for depth in (2, 4, 8):
        assert _depth_ok(value, depth) == _depth_and_strings_ok(value, depth)


def test_depth_at_limit_is_accepted() -> None:
    nested: object = 1
    for _ in range(7):
        nested = [nested]
    assert isinstance(parse_body(body({"a": nested}), LIMITS), dict)  # object + 7 lists = depth 8


def test_statuses_and_codes_are_distinct_and_4xx() -> None:
    all_ = [
        UNSUPPORTED_MEDIA_TYPE, BODY_TOO_LARGE, INVALID_ENCODING, INVALID_JSON, JSON_TOO_DEEP,
        NOT_AN_OBJECT, TOO_MANY_MESSAGES, BAD_CONTENT_LENGTH,
    ]  # fmt: skip
    assert all(400 <= v.status < 500 for v in all_)
    assert BODY_TOO_LARGE.status == 413 and UNSUPPORTED_MEDIA_TYPE.status == 415
    assert BODY_TOO_LARGE.body()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("application/json", True),
        ("Application/JSON; charset=UTF-8", True),
        ('application/json; charset="utf-8"', True),
        ("application/json; charset=latin-1", False),
        ("text/plain", False),
        ("multipart/form-data; boundary=x", False),
        (None, False),
        ("", False),
    ],
)
def test_content_type(header: str | None, ok: bool) -> None:
    assert (check_content_type(header) is None) is ok


def test_missing_content_type_can_be_allowed() -> None:
    assert check_content_type(None, allow_missing=True) is None
    assert check_content_type("text/plain", allow_missing=True) == UNSUPPORTED_MEDIA_TYPE


def test_content_length() -> None:
    assert check_content_length("10000", LIMITS) is None
    assert check_content_length(None, LIMITS) is None
    assert check_content_length("10001", LIMITS) == BODY_TOO_LARGE
    assert check_content_length("abc", LIMITS) == BAD_CONTENT_LENGTH
    assert check_content_length("-1", LIMITS) == BAD_CONTENT_LENGTH


def test_limits_from_settings() -> None:
    limits = Settings.from_env({"MASKER_MAX_BODY_BYTES": "100", "MASKER_MAX_MESSAGES": "2"}).limits
    assert (limits.max_body_bytes, limits.max_messages, limits.max_json_depth) == (100, 2, 64)
    assert Settings.from_env({}).limits == LimitSettings(4 * 1024 * 1024, 1000, 64)
    with pytest.raises(ConfigError, match="MASKER_MAX_JSON_DEPTH"):
        Settings.from_env({"MASKER_MAX_JSON_DEPTH": "0"})


@settings(max_examples=300)
@given(raw=st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    result = parse_body(raw, LIMITS)
    assert isinstance(result, dict | LimitViolation)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=40,
)


@settings(max_examples=300)
@given(value=json_values, secret=st.sampled_from(["Jane Roe 415-555-0134", "jroe@example.org"]))
def test_arbitrary_json_never_raises_and_messages_never_quote_input(value: object, secret: str) -> None:
    raw = json.dumps({"messages": [{"content": secret}], "x": value}).encode()
    result = parse_body(raw, LIMITS)
    if isinstance(result, LimitViolation):
        assert secret not in result.message
        assert 400 <= result.status < 500
