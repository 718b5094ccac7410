"""The fast JSON path must read and write exactly what the standard library would."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masker import jsonfast

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_json)
def test_round_trip_matches_stdlib(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False)
    assert jsonfast.loads(text.encode()) == json.loads(text)
    assert json.loads(jsonfast.dumps(value)) == value


def test_integers_beyond_64_bits_are_not_turned_into_floats() -> None:
    big = 2**80 + 1
    parsed = jsonfast.loads(f'{{"seed": {big}, "n": -{big}}}'.encode())
    assert parsed == {"seed": big, "n": -big}
    assert isinstance(parsed["seed"], int)
    assert jsonfast.dumps(parsed) == f'{{"seed":{big},"n":-{big}}}'.encode()
    assert jsonfast.loads(f"[1, \n {big}]".encode()) == [1, big]
    assert jsonfast.loads(f" {big}".encode()) == big
    assert jsonfast.loads(f"-{big}") == -big


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b"{", b'{"a": 1,}'])
def test_what_json_refuses_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        jsonfast.loads(raw)


def test_output_is_compact_utf8() -> None:
    assert jsonfast.dumps({"name": "Zoë", "n": [1, 2]}) == '{"name":"Zoë","n":[1,2]}'.encode()
