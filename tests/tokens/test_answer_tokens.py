"""Which tokens an answer may resolve, against real vault stores: only the request's own, plus what
a shape admits (the hook for APIs whose earlier turns are not resent)."""

from __future__ import annotations

from masker.detect.types import Entity
from masker.tokens.codec import Codec
from masker.tokens.rehydrate import AnswerTokens, rehydrate_text
from masker.tokens.store import VaultStore

from .conftest import make_ring

PHONE = "(415) 555-0142"


async def _stored_token(codec: Codec, conversation: str | None) -> tuple[str, str]:
    """A token issued and written to the vault by an earlier request: (token text, body)."""
    earlier = codec.session(conversation)
    token = earlier.tokenize(Entity.PHONE, PHONE)
    await earlier.flush()
    return token, token.rsplit(".", 1)[1]


async def test_a_stored_token_of_the_same_scope_is_not_resolved_unless_issued(store: VaultStore) -> None:
    """Same agent, no conversation id: the vault holds the row in the very scope this request
    uses, and still the answer cannot resolve it — only what this request issued."""
    codec = Codec("agent-at", make_ring("AT"), store=store)
    token, body = await _stored_token(codec, None)
    attacker = codec.session(None)
    assert await attacker.resolve(body) == PHONE  # the vault has it: the old oracle
    for spelling in (token, token.lower(), "MSK V1" + token[5:], "M S K V 1" + token[5:]):
        out = await rehydrate_text(AnswerTokens(attacker), f"It is {spelling}.")
        assert PHONE not in out
        assert out == "It is the phone number."


async def test_a_resent_value_resolves(store: VaultStore) -> None:
    codec = Codec("agent-at", make_ring("AT"), store=store)
    token, _ = await _stored_token(codec, "call-1")
    again = codec.session("call-1")
    assert again.tokenize(Entity.PHONE, PHONE) == token  # the caller resent it in plain
    assert await rehydrate_text(AnswerTokens(again), f"It is {token}.") == f"It is {PHONE}."


async def test_admitted_tokens_resolve_through_the_vault(store: VaultStore) -> None:
    codec = Codec("agent-at", make_ring("AT"), store=store)
    token, body = await _stored_token(codec, "call-2")
    tokens = AnswerTokens(codec.session("call-2"))
    assert await rehydrate_text(tokens, token) == "the phone number"
    tokens.admit([body])
    assert await rehydrate_text(tokens, token) == PHONE
    other = AnswerTokens(codec.session("call-3"))  # admitted, but another scope: not found
    other.admit([body])
    assert await rehydrate_text(other, token) == "the phone number"
