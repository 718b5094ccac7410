"""The mangling set (bench/mangling.py): 100% restore per in-scope class, and never a raw token."""

from __future__ import annotations

import pytest

from bench.mangling import CLASSES, OUT_OF_SCOPE, make_session, run_case, synthetic_values
from masker.tokens.codec import AEAD, VAULT
from masker.tokens.rehydrate import DEFAULT_FALLBACK, rehydrate_text

VALUES = synthetic_values(14)
CASES = [
    (mode, name, i)
    for mode in (VAULT, AEAD)
    for name, manglers in CLASSES.items()
    for i in range(len(manglers))
    if not (name == "aead_body_spaces" and mode == VAULT)
]


@pytest.mark.parametrize(("mode", "name", "index"), CASES)
async def test_in_scope_class_restores_every_value(mode: str, name: str, index: int) -> None:
    session = make_session(mode)
    for entity, value in VALUES:
        outcome = await run_case(session, CLASSES[name][index], entity, value, expect_restore=True)
        assert outcome.restored == 1, (name, index, entity)
        assert outcome.stream_mismatches == 0


@pytest.mark.parametrize("mode", [VAULT, AEAD])
@pytest.mark.parametrize("index", range(len(OUT_OF_SCOPE)))
async def test_out_of_scope_becomes_a_phrase_never_raw(mode: str, index: int) -> None:
    session = make_session(mode)
    for entity, value in VALUES:
        outcome = await run_case(session, OUT_OF_SCOPE[index], entity, value, expect_restore=False)
        assert outcome.raw_leaks == 0
        assert outcome.stream_mismatches == 0


async def test_fallback_phrase_names_the_entity_and_is_counted() -> None:
    session = make_session(VAULT)
    seen: list[str] = []
    out = await rehydrate_text(
        session, "Call MSKV1.PHONE_NUMBER.7AB now, or MSKV1.", on_unresolved=seen.append
    )
    assert out == f"Call the phone number now, or {DEFAULT_FALLBACK}."
    assert seen == ["PHONE_NUMBER", ""]
