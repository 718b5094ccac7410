"""The rehydration fast path (``find_canonical``) against the forgiving grammar (``find_tokens``).

Whenever the fast path answers, it must find exactly what the grammar finds: same spans, labels and
bodies. The texts mix well-formed tokens with the near misses a model produces — a wrong check
symbol, lower case, text glued after the body, a second token right after, a body split by a
space, the prefix alone, and the non-ASCII letters that fold to ``s`` and ``k``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from masker.detect.types import Entity
from masker.tokens.codec import AEAD, VAULT, Codec
from masker.tokens.grammar import find_canonical, find_tokens, format_token
from masker.tokens.keys import Key, KeyRing
from masker.tokens.rehydrate import rehydrate_text

RING = KeyRing((Key("CANON", os.urandom(32)),))
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_SESSION = Codec("agent-canon", RING, mode=VAULT).session("conv")
_AEAD_SESSION = Codec("agent-canon", RING, mode=AEAD).session("conv")
_GOOD = [
    _SESSION.tokenize(Entity.PHONE, "(415) 555-0100"),
    _SESSION.tokenize(Entity.PERSON, "Jane Roe", identifier=True),
    _AEAD_SESSION.tokenize(Entity.EMAIL, "jane.roe@example.com"),
]


def _variants(token: str) -> list[str]:
    body = token.rsplit(token[5], 1)[1]
    bad_check = token[:-1] + ("0" if token[-1] != "0" else "1")
    return [
        token,
        bad_check,
        token.lower(),
        token + "s",
        token + "_",
        token[:-3] + " " + token[-3:],
        token.replace(".", " . ", 1),
        format_token("PHONE", body[:-1]),
        "MSKV1",
        "MSKV1.PHONE",
        "M SKV1.NAME." + body,
        "M\u017fKV1.PHONE." + body,
        "MS\u212aV1.PHONE." + body,
    ]


_pieces = st.one_of(
    st.sampled_from([v for t in _GOOD for v in _variants(t)]),
    st.text(st.sampled_from(" .,_-:'\"*`\nabcMSKV1xyzABC0\u017f\u212a"), max_size=6),
)


@SETTINGS
@given(st.lists(_pieces, max_size=8))
@example([_GOOD[0], " ", _GOOD[1]])
@example([_GOOD[0], _GOOD[0]])
def test_the_fast_path_finds_what_the_grammar_finds(pieces: list[str]) -> None:
    text = "".join(pieces)
    fast = find_canonical(text)
    if fast is not None:
        assert fast == find_tokens(text)


@pytest.mark.parametrize(
    "text",
    [
        f"Call {_GOOD[0]} today.",
        f"{_GOOD[0]}, or {_GOOD[2]}.",
        f'{{"name": "{_GOOD[1]}"}}',
        "No tokens here.",
    ],
)
def test_well_formed_tokens_take_the_fast_path(text: str) -> None:
    assert find_canonical(text) is not None


@pytest.mark.parametrize(
    "text", [_GOOD[0] + "s", _GOOD[0].lower(), _GOOD[0][:-1] + "0" if _GOOD[0][-1] != "0" else "", "MSKV1"]
)
def test_near_misses_go_to_the_grammar(text: str) -> None:
    if text:
        assert find_canonical(text) is None


async def test_rehydration_is_the_same_on_both_paths() -> None:
    glued = f"Reach me at {_GOOD[0]}s or {_GOOD[0]}; mail {_GOOD[2]}."
    both = f"Reach me at {_GOOD[0]} or {_GOOD[0]}; mail {_GOOD[2]}."
    sessions = {VAULT: _SESSION, AEAD: _AEAD_SESSION}
    for text in (glued, both):
        session = sessions[VAULT]
        session.issued.update(_AEAD_SESSION.issued)
        got = await rehydrate_text(session, text)
        assert "MSKV1" not in got
        assert got.count("(415) 555-0100") == 2
        assert "jane.roe@example.com" in got
